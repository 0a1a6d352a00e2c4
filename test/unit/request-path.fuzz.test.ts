import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEvent, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from '../../local/lambda-runtime';
import { captureResponseStream } from '../../local/buffered-invoke';
import { signedQuery } from '../../core/signing';
import { requestArbitraries, TAMPERS, tamperedQuery, type Answer, type RandomRequest } from '../support/request-arbitraries';
import { fdsUnder } from '../support/fds';
import { parseMultipart } from '../support/http';
import { USER_AGENTS, type UserAgentName } from '../support/user-agents';

/**
 * Property-based fuzzing of the whole request path, in process: Lambda event → handler → core →
 * local storage on real files → the runtime's response format. Each run is one random request
 * (method, path, query, Range and validators, Origin, event format); every answer must be a
 * well-formed non-5xx whose bytes, when it has any, are exactly those of the one file it names.
 * FUZZ_RUNS raises the count for a longer local session; CI runs the default.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
const SIGNED_RUNS = Math.max(1_000, Math.floor(RUNS / 5));

// Small limits, so that random requests reach every branch: windows, 413 and multipart.
const MAX_RANGE_BYTES = 4_096;
const MAX_RESPONSE_BYTES = 8_192;
const ORIGIN = 'https://player.example';
const SECRET = randomBytes(32).toString('base64url');
// Bytes that must never leave the function: the content of everything outside the servable set.
const MARKER = Buffer.from(`FORBIDDEN-${randomBytes(8).toString('hex')}`);

const SERVABLE: Record<string, Buffer> = {
  'clip__1.mp4': randomBytes(12_345),
  'empty__0.mp4': Buffer.alloc(0),
  'Canción ñ__2.webm': randomBytes(3_000),
  'a b__3.mkv': randomBytes(5_000),
};
const NAMES = Object.keys(SERVABLE);

let base: string;
let root: string;
const context = { functionName: 'fuzz', getRemainingTimeInMillis: () => 30_000 } as Context;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'fuzz-'));
  root = join(base, 'downloads');
  await mkdir(join(root, 'sub'), { recursive: true });
  for (const [name, bytes] of Object.entries(SERVABLE)) await writeFile(join(root, name), bytes);
  const forbidden = Buffer.concat([MARKER, MARKER]);
  await writeFile(join(base, 'outside-secret.mp4'), forbidden);
  await writeFile(join(root, '.hidden.mp4'), forbidden);
  await writeFile(join(root, 'sub', 'nested.mp4'), forbidden);
  await symlink(join(base, 'outside-secret.mp4'), join(root, 'link-out.mp4'));
  installRuntimeGlobal();
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Imports a fresh handler module configured by `env` (the module reads its environment at init). */
async function loadHandler(env: Record<string, string>): Promise<StreamingHandler> {
  vi.resetModules();
  Object.assign(process.env, { DOWNLOADS_DIR: root, STORAGE: 'local', MAX_RANGE_BYTES: String(MAX_RANGE_BYTES), MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES) }, env);
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  const module = await import('../../handlers/stream');
  warn.mockRestore();
  if (!isStreamingHandler(module.handler)) throw new Error('handler is not streamified');
  return module.handler;
}

interface FuzzRequest extends RandomRequest {
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
const logged: string[] = [];
async function capturingStdout<T>(run: () => Promise<T>): Promise<T> {
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

async function invoke(handler: StreamingHandler, r: FuzzRequest): Promise<Answer> {
  const capture = captureResponseStream();
  await handler(r.format === 'url' ? urlEvent(r) : restEvent(r), capture.stream, context);
  if (capture.contentType() === 'application/json') {
    const result = JSON.parse(capture.raw().toString()) as { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean };
    return { status: result.statusCode, headers: result.headers, body: Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') };
  }
  const { head, body } = capture.result();
  return { status: head.statusCode, headers: head.headers, body };
}

// ---- generators (test/support/request-arbitraries.ts) --------------------------------------

const { path, query, method, headersArbitrary } = requestArbitraries(NAMES, ORIGIN);

// ---- what every answer must satisfy -------------------------------------------------------

const ALLOWED = new Set([200, 204, 206, 304, 400, 403, 404, 405, 412, 413, 414, 416]);

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

function checkAnswer(r: FuzzRequest, a: Answer): void {
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

async function etagsOf(handler: StreamingHandler): Promise<string[]> {
  const etags: string[] = [];
  for (const name of NAMES) {
    const answer = await invoke(handler, { format: 'url', method: 'HEAD', path: `/api/stream/${encodeURIComponent(name)}`, query: '', headers: {} });
    etags.push(answer.headers.etag ?? '');
  }
  return etags;
}

async function expectNoOpenFiles(): Promise<void> {
  // Streams close on the next turns of the event loop after the last byte.
  for (let i = 0; i < 20 && fdsUnder(base).length > 0; i += 1) await sleep(50);
  expect(fdsUnder(base)).toEqual([]);
}

describe('fuzzing the whole request path (public, CORS on, small windows)', () => {
  it(`answers ${RUNS} random requests with well-formed 2xx/3xx/4xx, exact bytes, nothing from outside the root`, async () => {
    const handler = await loadHandler({ CORS_ORIGINS: ORIGIN, SIGNING_SECRET: '' });
    const etags = await capturingStdout(() => etagsOf(handler));
    logged.length = 0;
    const request = fc.record({ format: fc.constantFrom('url', 'url', 'url', 'url', 'rest'), method, path, query, headers: headersArbitrary(etags) });
    const seen = new Map<number, number>();
    await capturingStdout(() => fc.assert(
      fc.asyncProperty(request, async (r: FuzzRequest) => {
        const answer = await invoke(handler, r);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        checkAnswer(r, answer);
      }),
      { numRuns: RUNS },
    ));
    // The generators reach every kind of answer; a fuzz that only ever saw 404s would prove little.
    for (const status of [200, 204, 206, 304, 400, 404, 405, 412, 413, 414, 416]) expect(seen.get(status) ?? 0, `answers with ${status}`).toBeGreaterThan(0);
    console.info('fuzz statuses', Object.fromEntries([...seen].sort(([a], [b]) => a - b)));
    await expectNoOpenFiles();
  }, 600_000);
});

describe('fuzzing signed links', () => {
  it(`gives 403, and the same 403, to every request whose signature is not exactly right (${SIGNED_RUNS} runs)`, async () => {
    const handler = await loadHandler({ CORS_ORIGINS: '', SIGNING_SECRET: SECRET });
    const now = Math.floor(Date.now() / 1000);
    const target = fc.oneof(fc.constantFrom(...NAMES), fc.constantFrom('missing__9.mp4', 'link-out.mp4'));
    const tamper = fc.constantFrom(...TAMPERS);
    const signed = fc.record({ name: target, ttl: fc.integer({ min: 60, max: 86_400 }), tamper, method: fc.constantFrom('GET', 'HEAD'), at: fc.nat() });
    let forbidden: string | undefined;
    logged.length = 0;
    await capturingStdout(() => fc.assert(
      fc.asyncProperty(signed, async ({ name, ttl, tamper: how, method: m, at }) => {
        const q = tamperedQuery(SECRET, NAMES, name, now, ttl, how, at);
        const r: FuzzRequest = { format: 'url', method: m, path: `/api/stream/${encodeURIComponent(name)}`, query: q, headers: { range: 'bytes=0-99' } };
        const answer = await invoke(handler, r);
        if (how === 'none') {
          expect(answer.status).toBe(NAMES.includes(name) ? (SERVABLE[name]?.length === 0 ? 416 : 206) : 404);
        } else {
          expect(answer.status).toBe(403);
          // Byte for byte the same refusal whatever the file and the flaw: nothing to learn from it.
          if (m === 'GET') {
            forbidden ??= answer.body.toString();
            expect(answer.body.toString()).toBe(forbidden);
          }
        }
        checkAnswer(r, answer);
      }),
      { numRuns: SIGNED_RUNS },
    ));
    expect(forbidden).toBe('{"detail":"Enlace no válido o caducado"}');
    // And the CLI's own link format passes.
    const name = 'Canción ñ__2.webm';
    const ok = await capturingStdout(() => invoke(handler, { format: 'url', method: 'GET', path: `/api/stream/${encodeURIComponent(name)}`, query: signedQuery(name, SECRET, 60), headers: {} }));
    expect([ok.status, ok.body.equals(SERVABLE[name] ?? Buffer.alloc(1))]).toEqual([200, true]);
    await expectNoOpenFiles();
  }, 600_000);
});
