import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request as httpRequest } from 'node:http';
import { installRuntimeGlobal, type StreamingHandler } from '../../local/lambda-runtime';
import { startUrlServer, type RunningUrlServer } from '../../local/url-server';
import { request } from '../support/client';

let server: RunningUrlServer | undefined;
const logs: string[] = [];

beforeAll(() => installRuntimeGlobal());
afterEach(async () => {
  await server?.close();
  server = undefined;
  logs.length = 0;
});

async function serve(handler: (event: unknown, stream: Writable) => Promise<void>, remapContentLength = false) {
  server = await startUrlServer({
    port: 0,
    fn: { name: 'fn', handler: handler as StreamingHandler, timeoutSeconds: 2, memoryMb: 128 },
    remapContentLength,
    log: (m) => logs.push(m),
  });
  return server.url;
}

const prelude = (stream: Writable, statusCode: number, headers: Record<string, string>) =>
  awslambda.HttpResponseStream.from(stream, { statusCode, headers });

describe('the local Function URL server', () => {
  it('turns the prelude into the status line and headers, and streams the body', async () => {
    const url = await serve(async (_event, stream) => {
      const out = prelude(stream, 206, { 'content-range': 'bytes 0-4/10', 'content-length': '5' });
      await pipeline(Readable.from([Buffer.from('he'), Buffer.from('llo')]), out);
    });
    const res = await request(`${url}/x`);
    expect([res.status, res.headers['content-range'], res.headers['content-length'], res.body.toString()]).toEqual([206, 'bytes 0-4/10', '5', 'hello']);
  });

  it('can remap Content-Length as Function URLs are reported to, and the body still arrives whole', async () => {
    const url = await serve(async (_event, stream) => {
      const out = prelude(stream, 200, { 'content-length': '5' });
      await pipeline(Readable.from([Buffer.from('hello')]), out);
    }, true);
    const res = await request(`${url}/x`);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['x-amzn-remapped-content-length']).toBe('5');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body.toString()).toBe('hello');
  });

  it('answers 502 when the function fails before writing', async () => {
    const url = await serve(async () => {
      throw new Error('boom');
    });
    const res = await request(`${url}/x`);
    expect(res.status).toBe(502);
    expect(logs.join('\n')).toContain('boom');
  });

  it('cuts the response when the function fails mid-stream, so a short body is never complete', async () => {
    const url = await serve(async (_event, stream) => {
      const out = prelude(stream, 200, { 'content-length': '10' });
      const failing = new Readable({
        read() {
          this.push(Buffer.from('12345'));
          this.destroy(new Error('disk gone'));
        },
      });
      await pipeline(failing, out);
    });
    await expect(request(`${url}/x`)).rejects.toThrow();
  });

  it('survives clients that leave before the function writes anything', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered: () => void = () => undefined;
    const firstEntered = new Promise<void>((resolve) => (entered = resolve));
    // Each invocation: when the server destroyed its response stream, and how the handler ended.
    const invocations: Array<{ closed: Promise<void>; outcome: Promise<string> }> = [];
    const url = await serve(async (_event, stream) => {
      const closed = new Promise<void>((resolve) => stream.once('close', resolve));
      let settle: (outcome: string) => void = () => undefined;
      invocations.push({ closed, outcome: new Promise((resolve) => (settle = resolve)) });
      entered();
      await gate;
      try {
        const out = prelude(stream, 200, {});
        await pipeline(Readable.from([Buffer.from('late')]), out);
        settle('written');
      } catch (error) {
        settle('failed');
        throw error;
      }
    });
    const req = httpRequest(`${url}/x`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    // The client leaves once the function runs, and the server has stopped that invocation's
    // stream before the function writes to it.
    await firstEntered;
    req.destroy();
    await invocations[0]?.closed;
    release();
    expect(await invocations[0]?.outcome).toBe('failed');
    const res = await request(`${url}/x`);
    expect([res.status, res.body.toString(), invocations.length]).toEqual([200, 'late', 2]);
    expect(await invocations[1]?.outcome).toBe('written');
  });
});
