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
import { signature, signedQuery } from '../../core/signing';
import { PATH_PAYLOADS } from '../support/hostile-corpus';
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

interface FuzzRequest {
  readonly format: 'url' | 'rest';
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Record<string, string>;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
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

// ---- generators ---------------------------------------------------------------------------

const TOKENS = ['%', '%2', '%2e', '%2E', '%2f', '%2F', '%5c', '%00', '%c0', '%ae', '%af', '%ff', '%25', '%zz', '.', '..', '/', '\\', ':', ';', '?', '#', '~', 'a', 'Z', '0', '_', '__', ' ', '\t', 'ñ', '🎬', '%C3%B1', '%F0%9F%8E%AC', 'mp4', '.mp4'];
const tokens = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((parts) => parts.join(''));

/** A servable name with something random spliced into it (most of them then name nothing). */
const mutatedName = fc.tuple(fc.constantFrom(...NAMES), fc.nat(), tokens).map(([name, at, insert]) => {
  const encoded = encodeURIComponent(name);
  const cut = at % (encoded.length + 1);
  return encoded.slice(0, cut) + insert + encoded.slice(cut);
});

const nameSegment = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...NAMES).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.constantFrom('Canción ñ__2.webm', 'a b__3.mkv') },
  { weight: 4, arbitrary: fc.constantFrom(...PATH_PAYLOADS) },
  { weight: 3, arbitrary: tokens },
  { weight: 3, arbitrary: mutatedName },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 12_000 }).map((n) => 'a'.repeat(n)) },
);

const path = fc.oneof(
  { weight: 12, arbitrary: nameSegment.map((name) => `/api/stream/${name}`) },
  { weight: 1, arbitrary: nameSegment.map((name) => `/api/stream//${name}`) },
  { weight: 1, arbitrary: nameSegment.map((name) => `/api/stream/${name}/x`) },
  { weight: 1, arbitrary: fc.tuple(tokens, nameSegment).map(([prefix, name]) => `/${prefix}/${name}`) },
  { weight: 1, arbitrary: fc.constantFrom('/', '', '/api/stream', '/api/stream/', '/API/STREAM/clip__1.mp4', '/api/stream/%2e%2e/clip__1.mp4') },
);

const number = fc.oneof(
  { weight: 6, arbitrary: fc.nat(14_000).map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('', '-1', '1e3', '0x10', ' 5', '5 ', '+5', '00012', '1.5', '9007199254740993', '１２') },
);
const rangeSpec = fc.oneof(
  fc.tuple(number, number).map(([a, b]) => `${a}-${b}`),
  number.map((a) => `${a}-`),
  number.map((n) => `-${n}`),
  fc.constantFrom('-', '', ' ', '--1', '1--2', '0-0-0'),
);
const rangeHeader = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('bytes=', 'bytes=', 'bytes=', 'Bytes=', 'bytes =', 'items=', 'bytes= ', ''), fc.oneof({ weight: 3, arbitrary: rangeSpec.map((spec) => [spec]) }, { weight: 2, arbitrary: fc.array(rangeSpec, { minLength: 2, maxLength: 8 }) }), fc.constantFrom(',', ', ', ' ,', ',,')).map(([unit, specs, sep]) => unit + specs.join(sep)) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 3_000 }).map((n) => `bytes=${Array.from({ length: n }, (_, i) => `${i}-${i}`).join(',')}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const httpDate = fc.oneof(
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.constantFrom('Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', 'yesterday', '', '0', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT'),
  fc.string({ maxLength: 40 }),
);

function headersArbitrary(etags: readonly string[]) {
  const etag = fc.oneof(
    fc.constantFrom(...etags),
    fc.constantFrom(...etags).map((e) => `W/${e}`),
    fc.constantFrom('*', '"x"', '""', 'x', '"unterminated', 'W/"x"', '"a", "b"'),
    fc.array(fc.constantFrom(...etags, '"x"', 'W/"y"'), { minLength: 2, maxLength: 4 }).map((list) => list.join(', ')),
    fc.string({ maxLength: 40 }),
  );
  // Each header present with the odds a player's requests have: Range mostly, validators now and then.
  const sometimes = <T>(odds: number, arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary }, { weight: odds - 1, arbitrary: fc.constant(undefined) });
  return fc
    .record({
      range: fc.oneof({ weight: 3, arbitrary: rangeHeader }, { weight: 1, arbitrary: fc.constant(undefined) }),
      'if-range': sometimes(5, fc.oneof(etag, httpDate)),
      'if-none-match': sometimes(8, etag),
      'if-match': sometimes(8, etag),
      'if-modified-since': sometimes(8, httpDate),
      'if-unmodified-since': sometimes(8, httpDate),
      origin: sometimes(3, fc.oneof(fc.constant(ORIGIN), fc.constantFrom('https://evil.example', 'null', ''), fc.string({ maxLength: 20 }))),
      'access-control-request-method': sometimes(4, fc.constantFrom('GET', 'HEAD', 'DELETE', '')),
      'sec-fetch-dest': sometimes(2, fc.oneof(fc.constantFrom('video', 'audio', 'VIDEO', ' video', 'empty', 'document', 'track', ''), fc.string({ maxLength: 12 }))),
      'user-agent': sometimes(2, fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.values(USER_AGENTS)) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) })),
      'x-random': sometimes(4, fc.string({ maxLength: 40 })),
    })
    .map((headers) => Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined)));
}

const query = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom('download=1', 'download=0', 'download', 'download=1&download=1', 'a=b&download=1', '%zz=1', '=&&=') },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }).map((s) => encodeURIComponent(s).replace(/%3D/g, '=').replace(/%26/g, '&')) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 5_000 }).map((n) => `x=${'y'.repeat(n)}`) },
);

const method = fc.oneof(
  { weight: 14, arbitrary: fc.constant('GET') },
  { weight: 3, arbitrary: fc.constantFrom('HEAD', 'get', 'head') },
  { weight: 3, arbitrary: fc.constantFrom('OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', '') },
);

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
    const tamper = fc.constantFrom('none', 'none', 'none', 'expired', 'flip', 'other-name', 'later', 'drop-expires', 'drop-signature', 'twice', 'lowercase', 'padded');
    const signed = fc.record({ name: target, ttl: fc.integer({ min: 60, max: 86_400 }), tamper, method: fc.constantFrom('GET', 'HEAD'), at: fc.nat() });
    let forbidden: string | undefined;
    logged.length = 0;
    await capturingStdout(() => fc.assert(
      fc.asyncProperty(signed, async ({ name, ttl, tamper: how, method: m, at }) => {
        let expires = how === 'expired' ? now - ttl : now + ttl;
        let sig = signature(SECRET, how === 'other-name' ? NAMES[at % NAMES.length] + 'x' : name, expires);
        if (how === 'flip') sig = sig.slice(0, at % 43) + (sig[at % 43] === 'A' ? 'B' : 'A') + sig.slice((at % 43) + 1);
        if (how === 'later') expires += 1;
        if (how === 'lowercase') sig = sig.toLowerCase() === sig ? `${sig.slice(0, 42)}Q` : sig.toLowerCase();
        if (how === 'padded') sig = `${sig}=`;
        let q = `expires=${expires}&signature=${sig}`;
        if (how === 'drop-expires') q = `signature=${sig}`;
        if (how === 'drop-signature') q = `expires=${expires}`;
        if (how === 'twice') q = `${q}&${q}`;
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
