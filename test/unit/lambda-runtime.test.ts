import { beforeAll, describe, expect, it } from 'vitest';
import { installRuntimeGlobal, PRELUDE_CONTENT_TYPE, preludeBytes } from '../../local/lambda-runtime';
import { captureResponseStream } from '../../local/buffered-invoke';

beforeAll(() => installRuntimeGlobal());

describe('the emulated runtime response stream', () => {
  it('writes JSON.stringify(prelude), 8 NUL bytes, then the body, under the prelude content type', async () => {
    const capture = captureResponseStream();
    const out = awslambda.HttpResponseStream.from(capture.stream, { statusCode: 206, headers: { 'content-range': 'bytes 0-1/9' } });
    out.write('ab');
    out.end();
    await new Promise((resolve) => out.once('finish', resolve));
    const prelude = JSON.stringify({ statusCode: 206, headers: { 'content-range': 'bytes 0-1/9' } });
    expect(capture.contentType()).toBe(PRELUDE_CONTENT_TYPE);
    expect(capture.raw().equals(Buffer.concat([Buffer.from(prelude), Buffer.alloc(8), Buffer.from('ab')]))).toBe(true);
    expect(capture.result()).toEqual({
      head: { statusCode: 206, headers: { 'content-range': 'bytes 0-1/9' }, cookies: [] },
      body: Buffer.from('ab'),
      aborted: false,
    });
  });

  it('preludeBytes is what HttpResponseStream.from writes before the first chunk', async () => {
    const capture = captureResponseStream();
    const prelude = { statusCode: 404, headers: { 'content-type': 'application/json' } };
    const out = awslambda.HttpResponseStream.from(capture.stream, prelude);
    out.write(new Uint8Array(0));
    out.end();
    await new Promise((resolve) => out.once('finish', resolve));
    expect(capture.raw().equals(preludeBytes(prelude))).toBe(true);
  });

  it('like the real runtime (issue #97), loses status and headers when ended without a write', async () => {
    const capture = captureResponseStream();
    const out = awslambda.HttpResponseStream.from(capture.stream, { statusCode: 304, headers: { etag: '"x"' } });
    out.end();
    await new Promise((resolve) => out.once('finish', resolve));
    expect(capture.raw().length).toBe(0);
    expect(capture.result().head.statusCode).toBe(200);
    expect(capture.result().head.headers.etag).toBeUndefined();
  });

  it('keeps them when an empty chunk is written before end()', async () => {
    const capture = captureResponseStream();
    const out = awslambda.HttpResponseStream.from(capture.stream, { statusCode: 304, headers: { etag: '"x"' } });
    out.write(new Uint8Array(0));
    out.end();
    await new Promise((resolve) => out.once('finish', resolve));
    expect(capture.result().head).toEqual({ statusCode: 304, headers: { etag: '"x"' }, cookies: [] });
    expect(capture.result().body.length).toBe(0);
  });

  it('refuses a content type change after the first write, as the runtime does', () => {
    const capture = captureResponseStream();
    capture.stream.write('x');
    expect(() => capture.stream.setContentType('text/plain')).toThrow('too late');
  });

  it('decodes a prelude split across many chunks', async () => {
    const capture = captureResponseStream();
    const out = awslambda.HttpResponseStream.from(capture.stream, { statusCode: 416, headers: { a: 'b' } });
    out.write(new Uint8Array(0));
    out.end('{}');
    await new Promise((resolve) => out.once('finish', resolve));
    const raw = capture.raw();
    const { PreludeDecoder } = await import('../../local/lambda-runtime');
    const decoder = new PreludeDecoder();
    const body: Buffer[] = [];
    let status: number | undefined;
    for (const byte of raw) {
      const out1 = decoder.push(Buffer.from([byte]), PRELUDE_CONTENT_TYPE);
      status ??= out1.head?.statusCode;
      if (out1.body) body.push(out1.body);
    }
    expect(status).toBe(416);
    expect(Buffer.concat(body).toString()).toBe('{}');
  });
});
