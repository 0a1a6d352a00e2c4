import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from '../../local/lambda-runtime';
import type { Context } from 'aws-lambda';
import { captureResponseStream } from '../../local/buffered-invoke';
import { answerOf } from '../support/handler-answer';
import { EVENTS_DIR, SAMPLE_NAME, SAMPLE_PATH } from '../support/paths';
import { USER_AGENTS } from '../../support/user-agents';

let dir: string;
let handler: StreamingHandler;
let sample: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'handler-'));
  await copyFile(SAMPLE_PATH, join(dir, SAMPLE_NAME));
  await writeFile(join(dir, 'empty__0.mp4'), '');
  sample = await readFile(SAMPLE_PATH);
  process.env.DOWNLOADS_DIR = dir;
  installRuntimeGlobal();
  const module = await import('../../handlers/stream');
  if (!isStreamingHandler(module.handler)) throw new Error('handler is not streamified');
  handler = module.handler;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const context = { functionName: 'test', getRemainingTimeInMillis: () => 30_000 } as Context;

async function invoke(event: LambdaFunctionURLEvent) {
  const capture = captureResponseStream();
  await handler(event, capture.stream, context);
  return capture.result();
}

/** Status, headers and body, whichever way the handler answered (streamed prelude or buffered JSON). */
async function answer(event: unknown) {
  const capture = captureResponseStream();
  await handler(event, capture.stream, context);
  return answerOf(capture);
}

async function loadEvent(name: string): Promise<LambdaFunctionURLEvent> {
  return JSON.parse(await readFile(join(EVENTS_DIR, `${name}.json`), 'utf8')) as LambdaFunctionURLEvent;
}

function withRequest(base: LambdaFunctionURLEvent, rawPath: string, method: string, headers: Record<string, string>): LambdaFunctionURLEvent {
  return { ...base, rawPath, headers: { ...base.headers, ...headers }, requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method } } };
}

describe('the Lambda handler through the runtime prelude format', () => {
  it('answers every sample event in events/ as its name says', async () => {
    const expected: Record<string, [number, string | undefined]> = {
      'full-file': [200, undefined],
      head: [200, undefined],
      range: [206, `bytes 0-1023/${sample.length}`],
      'open-range': [206, `bytes 300000-${sample.length - 1}/${sample.length}`],
      // Chrome's <video>: windowed, but the sample is smaller than one window (4 MiB).
      'media-range': [206, `bytes 0-${sample.length - 1}/${sample.length}`],
      'suffix-range': [206, `bytes ${sample.length - 500}-${sample.length - 1}/${sample.length}`],
      'bad-range': [200, undefined],
      'unsatisfiable-range': [416, `bytes */${sample.length}`],
      'missing-file': [404, undefined],
      traversal: [400, undefined],
      'rest-api-range': [206, `bytes 0-1023/${sample.length}`],
    };
    const files = (await readdir(EVENTS_DIR)).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace('.json', '')).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [status, contentRange]] of Object.entries(expected)) {
      const { status: actual, headers, body } = await answer(await loadEvent(name));
      expect(actual, name).toBe(status);
      expect(headers['content-range'], name).toBe(contentRange);
      if (status === 200 && name !== 'head') expect(body.equals(sample), name).toBe(true);
      if (contentRange?.startsWith('bytes 0-1023/')) expect(body.equals(sample.subarray(0, 1024)), name).toBe(true);
      if (status === 404) expect(JSON.parse(body.toString())).toEqual({ detail: 'Archivo no encontrado' });
    }
  });

  it('keeps status and headers of answers without body bytes: HEAD, 304, 416 (HEAD), empty file', async () => {
    const base = await loadEvent('full-file');
    const path = base.rawPath;
    const etag = (await invoke(withRequest(base, path, 'HEAD', {}))).head.headers.etag ?? '';
    const cases: Array<[LambdaFunctionURLEvent, number, Record<string, string>]> = [
      [withRequest(base, path, 'HEAD', {}), 200, { 'content-length': String(sample.length), 'accept-ranges': 'bytes', 'content-type': 'video/mp4' }],
      [withRequest(base, path, 'GET', { 'if-none-match': etag }), 304, { etag }],
      [withRequest(base, path, 'HEAD', { range: 'bytes=99999999-' }), 416, { 'content-range': `bytes */${sample.length}` }],
      [withRequest(base, '/api/stream/empty__0.mp4', 'GET', {}), 200, { 'content-length': '0', 'content-type': 'video/mp4' }],
      [withRequest(base, path, 'HEAD', { range: 'bytes=0-1' }), 206, { 'content-range': `bytes 0-1/${sample.length}` }],
    ];
    for (const [event, status, headers] of cases) {
      const { head, body } = await invoke(event);
      expect(head.statusCode).toBe(status);
      expect(head.headers).toMatchObject(headers);
      expect(body.length).toBe(0);
    }
  });

  it('streams a 206 body that is byte-exact', async () => {
    const base = await loadEvent('full-file');
    const { head, body } = await invoke(withRequest(base, base.rawPath, 'GET', { range: 'bytes=1000-99999' }));
    expect(head.statusCode).toBe(206);
    expect(body.equals(sample.subarray(1000, 100_000))).toBe(true);
  });

  it('writes one JSON access log line per request, without the query string', async () => {
    const base = await loadEvent('range');
    const event = { ...withRequest(base, base.rawPath, 'GET', { range: 'bytes=10-' }), rawQueryString: 'expires=1&signature=abc&download=0' };
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const capture = captureResponseStream();
      await handler(event, capture.stream, { ...context, awsRequestId: 'req-42' });
    } finally {
      write.mockRestore();
    }
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(record).toMatchObject({
      type: 'access',
      requestId: 'req-42',
      method: 'GET',
      key: SAMPLE_NAME,
      rangeAsked: 'bytes=10-',
      rangeSent: `bytes 10-${sample.length - 1}/${sample.length}`,
      // The sample event is curl's: not a media request, so no window (RANGE_WINDOWS=proven).
      client: 'other',
      window: 'not media',
      status: 206,
      bytes: sample.length - 10,
      completed: true,
    });
    for (const field of ['durationMs', 'storageMs', 'firstByteMs']) expect(record[field]).toEqual(expect.any(Number));
    expect(lines[0]).not.toMatch(/signature|expires/);
  });
});

describe('API Gateway events', () => {
  it('a REST event without streaming gets one buffered proxy result, binary body in base64', async () => {
    const event = await loadEvent('rest-api-range');
    const result = await answer(event);
    expect(result.mode).toBe('buffered');
    expect([result.status, result.headers['content-range']]).toEqual([206, `bytes 0-1023/${sample.length}`]);
    expect(result.body.equals(sample.subarray(0, 1024))).toBe(true);
  });

  it('buffered answers stay within the 6 MB payload: windows of at most 4 MiB, and 413 for more', async () => {
    await writeFile(join(dir, 'big__5.mp4'), Buffer.alloc(5 * 1024 * 1024, 7));
    const base = (await loadEvent('rest-api-range')) as unknown as { path: string; multiValueHeaders: Record<string, string[]> };
    const player = { 'Sec-Fetch-Dest': ['video'], 'User-Agent': [USER_AGENTS.firefox] };
    const open = await answer({ ...base, path: '/api/stream/big__5.mp4', multiValueHeaders: { ...player, Range: ['bytes=0-'] } });
    expect([open.status, open.headers['content-range'], open.body.length]).toEqual([206, `bytes 0-${4 * 1024 * 1024 - 1}/${5 * 1024 * 1024}`, 4 * 1024 * 1024]);
    // A client without windows is never answered short: the rest of the file does not fit, so 413.
    const rest = await answer({ ...base, path: '/api/stream/big__5.mp4', multiValueHeaders: { 'User-Agent': [USER_AGENTS.curl], Range: ['bytes=0-'] } });
    expect(rest.status).toBe(413);
    const whole = await answer({ ...base, path: '/api/stream/big__5.mp4', headers: {}, multiValueHeaders: {} });
    expect(whole.status).toBe(413);
    expect(JSON.parse(whole.body.toString()).detail).toMatch(/Range/);
  });

  it('a REST event streams when the integration is configured to (API_GATEWAY_STREAMING=true)', async () => {
    process.env.API_GATEWAY_STREAMING = 'true';
    try {
      const result = await answer(await loadEvent('rest-api-range'));
      expect(result.mode).toBe('stream');
      expect(result.status).toBe(206);
      expect(result.body.equals(sample.subarray(0, 1024))).toBe(true);
    } finally {
      delete process.env.API_GATEWAY_STREAMING;
    }
  });

  it('RESPONSE_MODE=stream streams the events it would buffer (REST, HTTP API), with the streaming limits', async () => {
    const size = 5 * 1024 * 1024;
    await writeFile(join(dir, 'big__6.mp4'), Buffer.alloc(size, 6));
    const rest = (await loadEvent('rest-api-range')) as unknown as { path: string; multiValueHeaders: Record<string, string[]> };
    const httpApi = await loadEvent('range');
    const events = {
      // More than a buffered answer may carry: 413 buffered, the whole rest of the file streamed.
      rest: { ...rest, path: '/api/stream/big__6.mp4', multiValueHeaders: { 'User-Agent': [USER_AGENTS.curl], Range: ['bytes=0-'] } },
      'HTTP API': { ...withRequest(httpApi, '/api/stream/big__6.mp4', 'GET', { range: 'bytes=0-', 'user-agent': USER_AGENTS.curl }), routeKey: 'GET /api/stream/{filename}' },
    };
    for (const [name, event] of Object.entries(events)) {
      const buffered = await answer(event);
      expect([buffered.mode, buffered.status], name).toEqual(['buffered', 413]);
      process.env.RESPONSE_MODE = 'stream';
      try {
        const streamed = await answer(event);
        expect([streamed.mode, streamed.status, streamed.headers['content-range']], name).toEqual(['stream', 206, `bytes 0-${size - 1}/${size}`]);
        expect(streamed.body.length, name).toBe(size);
      } finally {
        delete process.env.RESPONSE_MODE;
      }
    }
  });
});
