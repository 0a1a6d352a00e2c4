import { expect, vi } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEvent, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from '../../local/lambda-runtime';
import { captureResponseStream } from '../../local/buffered-invoke';
import { requestArbitraries, type Answer, type RandomRequest } from './request-arbitraries';
import { fdsUnder } from './fds';
import { answerOf } from './handler-answer';
import { parseMultipart } from './http';
import { USER_AGENTS, type UserAgentName } from '../../support/user-agents';

/**
 * Property-based fuzzing of the whole request path, in process: Lambda event → handler → core →
 * a storage backend → the runtime's response format. Each run is one random request (method,
 * path, query, Range and validators, Origin, event format); every answer must be a well-formed
 * non-5xx whose bytes, when it has any, are exactly those of the one file it names. The backend is
 * local disk (test/unit/request-path.fuzz.test.ts) or S3 on a real S3-compatible server
 * (test/backends/request-path-s3.fuzz.test.ts); each test puts SERVABLE where its backend serves
 * from and FORBIDDEN (MARKER) everywhere around it.
 */

// Small limits, so that random requests reach every branch: windows, 413 and multipart.
const MAX_RANGE_BYTES = 4_096;
const MAX_RESPONSE_BYTES = 8_192;
export const ORIGIN = 'https://player.example';
export const SECRET = randomBytes(32).toString('base64url');
// Bytes that must never leave the function: the content of everything outside the servable set.
const MARKER = Buffer.from(`FORBIDDEN-${randomBytes(8).toString('hex')}`);
export const FORBIDDEN = Buffer.concat([MARKER, MARKER]);

export const SERVABLE: Record<string, Buffer> = {
  'clip__1.mp4': randomBytes(12_345),
  'empty__0.mp4': Buffer.alloc(0),
  'Canción ñ__2.webm': randomBytes(3_000),
  'a b__3.mkv': randomBytes(5_000),
};
export const NAMES = Object.keys(SERVABLE);

const context = { functionName: 'fuzz', getRemainingTimeInMillis: () => 30_000 } as Context;

/** Imports a fresh handler module configured by `env` (the module reads its environment at init). */
export async function loadHandler(env: Record<string, string>): Promise<StreamingHandler> {
  installRuntimeGlobal();
  vi.resetModules();
  Object.assign(process.env, { MAX_RANGE_BYTES: String(MAX_RANGE_BYTES), MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES) }, env);
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  const module = await import('../../handlers/stream');
  warn.mockRestore();
  if (!isStreamingHandler(module.handler)) throw new Error('handler is not streamified');
  return module.handler;
}

export interface FuzzRequest extends RandomRequest {
  readonly format: 'url' | 'rest';
}

function urlEvent(r: FuzzRequest): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: r.path,
    rawQueryString: r.query,
    headers: r.headers,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'fuzz',
      domainName: 'fuzz.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'fuzz',
      http: { method: r.method, path: r.path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'fuzz' },
      requestId: 'fuzz',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

/** A REST API event (payload 1.0, buffered): API Gateway hands the query over already parsed. */
function restEvent(r: FuzzRequest): APIGatewayProxyEvent {
  // As JSON.parse would build it: `__proto__` and friends are plain own keys.
  const multi = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of new URLSearchParams(r.query)) (multi[key] ??= []).push(value);
  return {
    resource: '/api/stream/{filename}',
    path: r.path,
    httpMethod: r.method,
    headers: r.headers,
    multiValueHeaders: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: Object.keys(multi).length > 0 ? multi : null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

/** Lines the handler wrote to stdout (its access log) while `capture` was on. */
export const logged: string[] = [];
export async function capturingStdout<T>(run: () => Promise<T>): Promise<T> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logged.push(String(chunk));
    return true;
  });
  try {
    return await run();
  } finally {
    write.mockRestore();
  }
}

export async function invoke(handler: StreamingHandler, r: FuzzRequest): Promise<Answer> {
  const capture = captureResponseStream();
  await handler(r.format === 'url' ? urlEvent(r) : restEvent(r), capture.stream, context);
  return answerOf(capture);
}

// ---- generators (test/support/request-arbitraries.ts) --------------------------------------

export const { path, query, method, headersArbitrary } = requestArbitraries(NAMES, ORIGIN);

// ---- what every answer must satisfy -------------------------------------------------------

// 307: S3 sends what is too large to stream from itself (a presigned URL), where local disk answers 413.
const ALLOWED = new Set([200, 204, 206, 304, 307, 400, 403, 404, 405, 412, 413, 414, 416]);

/** The servable file a path names, if any (the route decodes the name exactly once). */
function servedName(rawPath: string): string | undefined {
  const match = /^\/api\/stream\/([^/]*)$/.exec(rawPath);
  if (!match) return undefined;
  try {
    const name = decodeURIComponent(match[1] ?? '');
    return NAMES.includes(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

export function checkAnswer(r: FuzzRequest, a: Answer): void {
  expect(ALLOWED.has(a.status), `status ${a.status}`).toBe(true);
  // Exactly one access log line per request, JSON on one line, with the answer's status and
  // nothing of the query string (where signatures travel).
  expect(logged).toHaveLength(1);
  const line = logged.pop() ?? '';
  expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
  expect((JSON.parse(line) as { status: number }).status).toBe(a.status);
  expect(line).not.toContain('signature');
  expect(a.body.includes(MARKER)).toBe(false);
  const get = r.method.toUpperCase() === 'GET';
  if (r.method.toUpperCase() === 'HEAD') expect(a.body.length).toBe(0);
  if (a.status >= 400 && r.method.toUpperCase() !== 'HEAD') {
    expect(a.headers['content-type']).toBe('application/json');
    const parsed = JSON.parse(a.body.toString()) as unknown;
    expect(parsed).toEqual({ detail: expect.any(String) });
    expect(a.body.toString()).not.toMatch(/Error|at .*:\d+|\/tmp\/|node:/);
  }
  if (r.headers.origin !== ORIGIN) expect(a.headers['access-control-allow-origin']).toBeUndefined();
  if (a.status === 307) {
    // Only S3 offloads, and only a servable file; the URL is the bucket's, never the function's.
    expect(servedName(r.path), `307 for ${r.path}`).toBeDefined();
    expect(a.headers.location).toMatch(/^https?:\/\/[^/]+\//);
    expect(a.body.length).toBe(0);
  }
  if (a.status !== 200 && a.status !== 206) return;
  const name = servedName(r.path);
  expect(name, `${a.status} for ${r.path}`).toBeDefined();
  const file = SERVABLE[name ?? ''] ?? Buffer.alloc(0);
  if (!get) return;
  expect(Number(a.headers['content-length'])).toBe(a.body.length);
  if (a.status === 200) {
    expect(a.body.equals(file)).toBe(true);
    return;
  }
  const contentType = a.headers['content-type'] ?? '';
  const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(contentType)?.[1];
  const parts = boundary === undefined ? [{ headers: { 'content-range': a.headers['content-range'] ?? '' }, body: a.body }] : parseMultipart(a.body, boundary);
  let total = 0;
  for (const part of parts) {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(part.headers['content-range'] ?? '');
    expect(range, `Content-Range ${part.headers['content-range']}`).not.toBeNull();
    const [start, end, size] = [Number(range?.[1]), Number(range?.[2]), Number(range?.[3])];
    expect(size).toBe(file.length);
    expect(start <= end && end < size).toBe(true);
    expect(part.body.equals(file.subarray(start, end + 1))).toBe(true);
    total += part.body.length;
  }
  // A media request of a proven engine is windowed (RANGE_WINDOWS=proven); everyone else, and any
  // download (?download=1), is bounded by the response limit only.
  expect(total).toBeLessThanOrEqual(windowed(r) ? MAX_RANGE_BYTES : MAX_RESPONSE_BYTES);
}

// Written from the README's table of engines, not from core/window-policy.ts.
const PROVEN: readonly UserAgentName[] = ['chrome', 'headlessChromium', 'edge', 'androidChrome', 'firefox', 'androidFirefox'];

function windowed(r: FuzzRequest): boolean {
  if (['1', 'true'].includes(new URLSearchParams(r.query).get('download') ?? '')) return false;
  const dest = r.headers['sec-fetch-dest']?.trim().toLowerCase();
  const agent = Object.entries(USER_AGENTS).find(([, ua]) => ua === r.headers['user-agent'])?.[0] as UserAgentName | undefined;
  return (dest === 'video' || dest === 'audio') && agent !== undefined && PROVEN.includes(agent);
}

export async function etagsOf(handler: StreamingHandler): Promise<string[]> {
  const etags: string[] = [];
  for (const name of NAMES) {
    const answer = await invoke(handler, { format: 'url', method: 'HEAD', path: `/api/stream/${encodeURIComponent(name)}`, query: '', headers: {} });
    etags.push(answer.headers.etag ?? '');
  }
  return etags;
}

export async function expectNoOpenFiles(base: string): Promise<void> {
  // Streams close on the next turns of the event loop after the last byte.
  for (let i = 0; i < 20 && fdsUnder(base).length > 0; i += 1) await sleep(50);
  expect(fdsUnder(base)).toEqual([]);
}


/**
 * `runs` random requests to `handler`, each answer checked; returns how often each status came.
 * The handler's access log is captured, one line per request.
 */
export async function fuzzRequests(handler: StreamingHandler, runs: number): Promise<Map<number, number>> {
  const etags = await capturingStdout(() => etagsOf(handler));
  logged.length = 0;
  const request = fc.record({ format: fc.constantFrom('url', 'url', 'url', 'url', 'rest'), method, path, query, headers: headersArbitrary(etags) });
  const seen = new Map<number, number>();
  await capturingStdout(() =>
    fc.assert(
      fc.asyncProperty(request, async (r: FuzzRequest) => {
        const answer = await invoke(handler, r);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        checkAnswer(r, answer);
      }),
      { numRuns: runs },
    ),
  );
  return seen;
}
