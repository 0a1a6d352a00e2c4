import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { buildEdgeFunctions } from '../../edge/bundle.mjs';
import type { CfEvent, CfFields, CfRequest, CfResponse } from '../../edge/event';
import { cdnCacheControl, DIRECT_HEADER, type CdnSettings } from '../../core/cdn';
import { corsPolicyOf } from '../../core/cors';
import { formatHttpDate } from '../../core/http-date';
import { MESSAGES } from '../../core/plan';
import { evaluatePreconditions, parsePreconditions, validatorsOf } from '../../core/preconditions';
import { queryValues } from '../../core/query';
import { parseRangeHeader } from '../../core/range';
import type { HeaderBag } from '../../core/request';
import { matchStreamRoute } from '../../core/route';
import { DEFAULT_SERVE_OPTIONS, serveStream, type ServeOptions, type StreamResponse } from '../../core/serve';
import { signedQuery } from '../../core/signing';
import { CloudFrontFunction, cloudFrontRequest, isResponse, viewerRequestEvent, viewerResponseEvent } from '../support/cloudfront-sandbox';
import { PATH_PAYLOADS } from '../support/hostile-corpus';
import { collect } from '../support/http';
import { memoryStorage } from '../support/memory-storage';
import { requestArbitraries, TAMPERS, tamperedQuery, type Answer, type RandomRequest } from '../support/request-arbitraries';

/**
 * The edge functions, run in the cloudfront-js-2.0 sandbox, against the function itself. For each
 * random request, the viewer-request function must refuse exactly what serveStream refuses before
 * storage (same status, body and headers); what it lets through is followed through a model of
 * the distribution (origin group: S3 first, the function on 403/404/416; the function directly
 * when the edge selects it; the viewer-response function on answers below 400) and must come
 * back as the function in CDN mode answers the original request. CloudFront's cache and its own
 * handling of Range and conditions are not modelled: every request is a miss passed as it is.
 */
const RUNS = Number(process.env.EDGE_FUZZ_RUNS ?? 1_500);
const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);
const NOW_S = NOW / 1000;
const SECRET = randomBytes(32).toString('base64url');
const ORIGIN = 'https://player.example';
const FILES: Record<string, Buffer> = {
  'clip__1.mp4': randomBytes(12_345),
  'empty__0.mp4': Buffer.alloc(0),
  'Canción ñ__2.webm': randomBytes(3_000),
  'a b__3.mkv': randomBytes(5_000),
  // A title the edge cannot fold to ASCII: its downloads go to the function.
  '映画 ǅ🎬__4.mp3': randomBytes(2_000),
  'notes__5.html': randomBytes(100),
  // Characters a URI keeps unencoded unless told to: the rewrite must encode them for both origins.
  "Q&A? #1, a+b=c; it's x:y@z$ (1)__6.mp4": randomBytes(700),
};
const NAMES = Object.keys(FILES);
const LAST_MODIFIED = Date.UTC(2024, 0, 2, 3, 4, 5);
const { path, query, method, headersArbitrary } = requestArbitraries(NAMES, ORIGIN);

interface Setup {
  readonly label: string;
  readonly secret: string | undefined;
  readonly corsOrigins: string;
}
const SETUPS: Setup[] = [
  { label: 'signed links, CORS for one origin', secret: SECRET, corsOrigins: ORIGIN },
  { label: 'public, CORS for any origin', secret: undefined, corsOrigins: '*' },
  { label: 'public, CORS off', secret: undefined, corsOrigins: '' },
];

interface Edge {
  readonly request: CloudFrontFunction<CfRequest | CfResponse>;
  readonly response: CloudFrontFunction<CfResponse>;
  readonly contract: ServeOptions;
  readonly cdn: ServeOptions;
  readonly cache: CdnSettings;
}

const edges = new Map<string, Edge>();
beforeAll(async () => {
  for (const setup of SETUPS) {
    const code = await buildEdgeFunctions({ signingSecret: setup.secret, corsOrigins: setup.corsOrigins });
    const cache: CdnSettings = { maxAge: 31_536_000, errorMaxAge: 60, signed: setup.secret !== undefined };
    const base: ServeOptions = { ...DEFAULT_SERVE_OPTIONS, rangeWindows: 'off', cors: corsPolicyOf(setup.corsOrigins), now: () => NOW, boundary: () => 'B0UNDARY', logError: () => undefined };
    edges.set(setup.label, {
      request: new CloudFrontFunction(code.viewerRequest, 'viewer-request'),
      response: new CloudFrontFunction(code.viewerResponse, 'viewer-response'),
      // The endpoint's contract: what the function answers with no CDN in front.
      contract: { ...base, signingSecret: setup.secret },
      // The function behind the distribution (CDN_MODE=true).
      cdn: { ...base, signingSecret: undefined, cdn: cache },
      cache,
    });
  }
}, 120_000);


async function answerOf(response: StreamResponse): Promise<Answer> {
  return { status: response.status, headers: response.headers, body: await collect(response.body) };
}

function flat(fields: CfFields): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, (field.multiValue ?? [field]).map((f) => f.value).join(',')]));
}

/** The function behind a Function URL, given what CloudFront forwards: OriginPath /api/stream plus the URI. */
async function viaFunction(edge: Edge, forwarded: CfRequest): Promise<Answer> {
  const rawQuery = forwardedQuery(forwarded);
  return answerOf(await serveStream({ method: forwarded.method, rawPath: `/api/stream${forwarded.uri}`, rawQuery, headers: flat(forwarded.headers) }, memoryStorage(FILES, LAST_MODIFIED).storage, edge.cdn));
}

/**
 * S3 as its documentation describes GetObject/HeadObject behind OAC without s3:ListBucket: a
 * missing key is 403; one range as asked, 416 for a start at or past the end or any range of an
 * empty object; conditions with RFC 9110's rules (assumed, not proven: CloudFront answers most of
 * them from its cache anyway); and headers of its own that the function would not send.
 */
function viaS3(forwarded: CfRequest, junk: number): Answer | 'failover' {
  const key = decodeURIComponent(forwarded.uri.slice(1));
  const data = Object.hasOwn(FILES, key) ? FILES[key] : undefined;
  if (data === undefined) return 'failover';
  const size = data.length;
  const etag = `"mem-${size}"`;
  const headers: Record<string, string> = {
    'x-amz-request-id': 'R3QU35T',
    'x-amz-id-2': 'id2',
    server: 'AmazonS3',
    etag,
    'last-modified': formatHttpDate(LAST_MODIFIED),
    'accept-ranges': 'bytes',
    'content-type': ['binary/octet-stream', 'text/html', 'video/mp4'][junk % 3] ?? '',
    ...(junk % 2 === 0 ? { 'cache-control': 'max-age=5', 'content-disposition': 'inline', 'x-amz-meta-title': 'x', vary: 'Origin, Access-Control-Request-Headers', 'access-control-allow-origin': 'https://evil.example' } : {}),
  };
  const bag = flat(forwarded.headers);
  if (evaluatePreconditions(forwarded.method.toUpperCase(), parsePreconditions(bag), validatorsOf(etag, LAST_MODIFIED)) === 'not-modified') {
    return { status: 304, headers, body: Buffer.alloc(0) };
  }
  const range = bag.range;
  let window = size === 0 ? undefined : { start: 0, end: size - 1 };
  let status = 200;
  if (range !== undefined) {
    const int = /^bytes=(\d+)-(\d*)$/.exec(range);
    const suffix = /^bytes=-(\d+)$/.exec(range);
    if (int === null && suffix === null) throw new Error(`the edge sent S3 a Range it does not normalise to: ${range}`);
    if (size === 0) return 'failover';
    if (int !== null) {
      const start = Number(int[1]);
      if (start >= size) return 'failover';
      window = { start, end: int[2] === '' ? size - 1 : Math.min(Number(int[2]), size - 1) };
    } else {
      const length = Number(suffix?.[1]);
      if (length === 0) return 'failover';
      window = { start: Math.max(0, size - length), end: size - 1 };
    }
    status = 206;
    headers['content-range'] = `bytes ${window.start}-${window.end}/${size}`;
  }
  const body = window === undefined ? Buffer.alloc(0) : data.subarray(window.start, window.end + 1);
  headers['content-length'] = String(body.length);
  // As the function does, whatever the case of the method (what CloudFront does with "head" is its own affair).
  return { status, headers, body: forwarded.method.toUpperCase() === 'HEAD' ? Buffer.alloc(0) : body };
}

/** The edge always hands CloudFront the query it forwards as a string. */
function forwardedQuery(forwarded: CfRequest): string {
  if (typeof forwarded.querystring !== 'string') throw new Error('the edge forwarded the query string as an object');
  return forwarded.querystring;
}

/**
 * The viewer-response function on `answer` (CloudFront runs none at 400 and above), once with the
 * request as the viewer sent it and once as forwarded: AWS does not say which the event carries,
 * so both must give the same headers.
 */
function throughViewerResponse(edge: Edge, original: CfRequest, forwarded: CfRequest, answer: Answer): Answer {
  if (answer.status >= 400) return answer;
  const run = (request: CfRequest) => flat(edge.response.run(viewerResponseEvent(request, { statusCode: answer.status, headers: Object.entries(answer.headers) }), NOW).result.headers);
  const headers = run(original);
  expect(run(forwarded)).toEqual(headers);
  return { status: answer.status, headers, body: answer.body };
}

const COMPARED = ['content-type', 'content-range', 'x-content-type-options', 'content-disposition', 'etag', 'last-modified', 'accept-ranges', 'access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age', 'vary', 'allow', 'cache-control'];
function compared(headers: Record<string, string>) {
  return Object.fromEntries(COMPARED.filter((name) => headers[name] !== undefined).map((name) => [name, headers[name]]));
}

/** Refusals serveStream makes before storage (core/gate.ts): only these may come from the edge. */
function refusedBeforeStorage(answer: Answer): boolean {
  if ([204, 400, 403, 405, 414].includes(answer.status)) return true;
  return answer.status === 404 && answer.headers['content-length'] === String(Buffer.byteLength(JSON.stringify({ detail: MESSAGES.noRoute })));
}

const stats = { refused: 0, s3: 0, failover: 0, direct: 0, boundary414: 0 };

async function check(edge: Edge, r: RandomRequest, junk: number): Promise<void> {
  const original = cloudFrontRequest({ method: r.method, uri: r.path, rawQuery: r.query, headers: Object.entries(r.headers) });
  const event: CfEvent = viewerRequestEvent(original);
  const ran = edge.request.run(JSON.parse(JSON.stringify(event)) as CfEvent, NOW);
  const contract = await answerOf(await serveStream({ method: r.method, rawPath: r.path, rawQuery: r.query, headers: r.headers }, memoryStorage(FILES, LAST_MODIFIED).storage, edge.contract));
  const refused = isResponse(ran.result);
  // CloudFront hands the function names and values, not the raw query: "a" and "a=", "&&" and
  // the order between names are lost, so near 2048 characters its 414 can differ from the function's.
  const rebuilt = Object.entries(original.querystring as CfFields).flatMap(([name, field]) => (field.multiValue ?? [field]).map((f) => `${name}=${f.value}`)).join('&');
  if (refused !== refusedBeforeStorage(contract) && (rebuilt.length > 2048) !== (r.query.length > 2048)) {
    stats.boundary414 += 1;
    return;
  }
  expect(refused, `${r.method} ${r.path}?${r.query.slice(0, 80)} → ${contract.status}`).toBe(refusedBeforeStorage(contract));
  if (isResponse(ran.result)) {
    stats.refused += 1;
    const made = ran.result;
    expect(ran.originCalls).toEqual([]);
    expect(made.statusCode).toBe(contract.status);
    expect(compared(flat(made.headers))).toEqual({ ...compared(contract.headers), 'cache-control': cdnCacheControl(contract.status, false, edge.cache) });
    expect(flat(made.headers)['content-length']).toBeUndefined();
    expect(Buffer.from(typeof made.body === 'string' ? made.body : '').equals(contract.body)).toBe(true);
    return;
  }

  const forwarded = ran.result;
  const route = matchStreamRoute(r.path);
  if (route.kind !== 'file') throw new Error('the edge let through a path the route refuses');
  // The URI names exactly the file the route decoded, for the function and for S3 alike.
  const again = matchStreamRoute(`/api/stream${forwarded.uri}`);
  expect(again.kind === 'file' ? again.name : undefined).toBe(route.name);
  expect(decodeURIComponent(forwarded.uri.slice(1))).toBe(route.name);
  // Nothing of the link goes on; only download= does.
  const sent = forwardedQuery(forwarded);
  expect(queryValues(sent)('expires')).toEqual([]);
  expect(queryValues(sent)('signature')).toEqual([]);
  expect(queryValues(sent)('download')).toEqual(queryValues(r.query)('download'));
  expect(sent.split('&').filter((p) => p !== '').every((pair) => queryValues(pair)('download').length === 1)).toBe(true);

  const headers: HeaderBag = r.headers;
  const direct = ran.originCalls.length > 0;
  const ranges = headers.range === undefined ? undefined : parseRangeHeader(headers.range);
  const mustBeDirect = headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined || headers['if-range'] !== undefined || (ranges?.kind === 'bytes' && ranges.specs.length > 1);
  if (mustBeDirect) expect(ran.originCalls).toEqual([{ method: 'selectRequestOriginById', argument: 'fn' }]);
  // A copy the viewer forged never gets through; the edge's own is there exactly when it chose the function.
  expect(forwarded.headers[DIRECT_HEADER] !== undefined).toBe(direct);

  let answer: Answer;
  if (direct) {
    stats.direct += 1;
    answer = throughViewerResponse(edge, original, forwarded, await viaFunction(edge, forwarded));
  } else {
    const s3 = viaS3(forwarded, junk);
    if (s3 === 'failover') stats.failover += 1;
    else stats.s3 += 1;
    answer = throughViewerResponse(edge, original, forwarded, s3 === 'failover' ? await viaFunction(edge, forwarded) : s3);
  }
  // The function's answer to the viewer's request: a forged x-stream-direct means nothing to the contract.
  const { [DIRECT_HEADER]: _forged, ...viewerHeaders } = r.headers;
  const expected = await answerOf(await serveStream({ method: r.method, rawPath: r.path, rawQuery: r.query, headers: viewerHeaders }, memoryStorage(FILES, LAST_MODIFIED).storage, edge.cdn));
  const label = `${r.method} ${r.path} ${JSON.stringify(r.headers)} ?${r.query.slice(0, 60)}`;
  expect(answer.status, label).toBe(expected.status);
  expect(compared(answer.headers), label).toEqual({ ...compared(expected.headers), 'cache-control': cdnCacheControl(expected.status, direct, edge.cache) });
  expect(answer.body.equals(expected.body), label).toBe(true);
  // No S3 header and no mark of the function reach the viewer on what the viewer-response function saw.
  if (answer.status < 400) expect(Object.keys(answer.headers).filter((name) => name.startsWith('x-amz-') || name === 'x-stream-origin')).toEqual([]);
}

const forgedDirect = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('range=bytes%3D0-0', 'if-match=%22x%22', 'direct') });
const viewerRequest = fc
  .record({ method, path, query, headers: headersArbitrary([`"mem-12345"`, `"mem-3000"`, `"mem-0"`]), forged: forgedDirect, junk: fc.nat() })
  .map(({ forged, ...r }) => ({ ...r, headers: forged === undefined ? r.headers : { ...r.headers, [DIRECT_HEADER]: forged } }));

describe('the edge functions in the cloudfront-js-2.0 sandbox answer as the function does', () => {
  for (const setup of SETUPS) {
    it(`${setup.label}: ${RUNS} random requests`, async () => {
      const edge = edges.get(setup.label);
      if (edge === undefined) throw new Error('not built');
      await fc.assert(
        fc.asyncProperty(viewerRequest, async ({ junk, ...r }) => {
          // A valid link on some requests, so that signed setups reach storage too.
          const signedLink = setup.secret !== undefined && junk % 3 === 0 ? signedQuery(decodeFromPath(r.path), setup.secret, 600, NOW_S) : undefined;
          await check(edge, signedLink === undefined ? r : { ...r, query: r.query === '' ? signedLink : `${signedLink}&${r.query}` }, junk);
        }),
        { numRuns: RUNS },
      );
    }, 300_000);
  }

  it('the hostile paths of test/support/hostile-corpus.ts, with every method', async () => {
    const edge = edges.get(SETUPS[0]?.label ?? '');
    if (edge === undefined) throw new Error('not built');
    for (const payload of PATH_PAYLOADS) {
      for (const m of ['GET', 'HEAD', 'OPTIONS', 'POST', 'DELETE']) await check(edge, { method: m, path: `/api/stream/${payload}`, query: '', headers: { origin: ORIGIN } }, 1);
    }
  });

  it('signed links, tampered or not, exactly as the function judges them', async () => {
    const edge = edges.get(SETUPS[0]?.label ?? '');
    if (edge === undefined) throw new Error('not built');
    const link = fc.record({ name: fc.constantFrom(...NAMES, 'missing__9.mp4'), ttl: fc.integer({ min: 60, max: 86_400 }), how: fc.constantFrom(...TAMPERS), m: fc.constantFrom('GET', 'HEAD'), at: fc.nat(), range: fc.constantFrom(undefined, 'bytes=0-99', 'bytes=5-', 'bytes=-10', 'bytes=0-1,5-6') });
    let passed = 0;
    await fc.assert(
      fc.asyncProperty(link, async ({ name, ttl, how, m, at, range }) => {
        const r: RandomRequest = { method: m, path: `/api/stream/${encodeURIComponent(name)}`, query: tamperedQuery(SECRET, NAMES, name, NOW_S, ttl, how, at), headers: range === undefined ? {} : { range } };
        const ran = edge.request.run(viewerRequestEvent(cloudFrontRequest({ ...r, uri: r.path, rawQuery: r.query, headers: Object.entries(r.headers) })), NOW);
        // Untouched links pass, every tampered one is refused.
        expect(isResponse(ran.result), how).toBe(how !== 'none');
        if (how === 'none') passed += 1;
        await check(edge, r, at);
      }),
      { numRuns: Math.max(500, Math.floor(RUNS / 2)) },
    );
    expect(passed).toBeGreaterThan(0);
  }, 300_000);

  it('reaches every path of the model', () => {
    console.info('edge fuzz paths', stats);
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.s3).toBeGreaterThan(0);
    expect(stats.failover).toBeGreaterThan(0);
    expect(stats.direct).toBeGreaterThan(0);
  });
});

/** The stored name a path names, for signing (a name the route refuses is signed as it is). */
function decodeFromPath(rawPath: string): string {
  const route = matchStreamRoute(rawPath);
  return route.kind === 'file' ? route.name : rawPath;
}

describe('the viewer-request function, by example', () => {
  const forward = (headers: Record<string, string>, rawQuery = '', name = 'clip__1.mp4') => {
    const edge = edges.get(SETUPS[1]?.label ?? '');
    if (edge === undefined) throw new Error('not built');
    const ran = edge.request.run(viewerRequestEvent(cloudFrontRequest({ method: 'GET', uri: `/api/stream/${encodeURIComponent(name)}`, rawQuery, headers: Object.entries(headers) })), NOW);
    if (isResponse(ran.result)) throw new Error(`refused with ${ran.result.statusCode}`);
    return { range: ran.result.headers.range?.value, direct: ran.result.headers[DIRECT_HEADER]?.value, origins: ran.originCalls.map((c) => c.argument), uri: ran.result.uri, query: ran.result.querystring };
  };

  it('asks S3 for the range the function would ask storage for', () => {
    expect(forward({ range: 'bytes=5-' })).toEqual({ range: 'bytes=5-', direct: undefined, origins: [], uri: '/clip__1.mp4', query: '' });
    expect(forward({ Range: 'BYTES= 0-99 ' }).range).toBe('bytes=0-99');
    expect(forward({ range: 'bytes=0-99999999999999999999' }).range).toBe('bytes=0-');
    expect(forward({ range: 'bytes=,,-500,' }).range).toBe('bytes=-500');
    // Ignored by the core, so S3 must not see it either (it would be ignored or misread there).
    expect(forward({ range: 'items=0-1' }).range).toBeUndefined();
    expect(forward({ range: 'bytes=5-1' }).range).toBeUndefined();
  });

  it('sends the function what S3 cannot answer as the core does, with the fields moved', () => {
    for (const headers of [{ range: 'bytes=0-1,5-6' }, { range: 'bytes=99999999999999999999-' }, { range: 'bytes=-0' }, { range: 'bytes=-99999999999999999999' }, { 'if-match': '"x"' }, { 'if-unmodified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' }, { range: 'bytes=0-1', 'if-range': '"x"' }]) {
      const sent = forward({ ...headers, 'if-none-match': '"y"' });
      expect(sent.origins, JSON.stringify(headers)).toEqual(['fn']);
      expect(sent.range).toBeUndefined();
      expect(queryValues(sent.direct ?? '')('if-none-match')).toEqual(['"y"']);
    }
    // Repeated Range headers: CloudFront would keep the later ones under a new value.
    const edge = edges.get(SETUPS[1]?.label ?? '');
    const twice = edge?.request.run(viewerRequestEvent(cloudFrontRequest({ method: 'GET', uri: '/api/stream/clip__1.mp4', rawQuery: '', headers: [['range', 'bytes=0-1'], ['range', '']] })), NOW);
    expect(twice?.originCalls.map((c) => c.argument)).toEqual(['fn']);
    // A download whose title the table cannot fold; a Spanish one it can.
    expect(forward({}, 'download=1', '映画 ǅ🎬__4.mp3').origins).toEqual(['fn']);
    expect(forward({}, 'download=1&expires=1&signature=x', 'Canción ñ__2.webm')).toMatchObject({ origins: [], query: 'download=1', uri: '/Canci%C3%B3n%20%C3%B1__2.webm' });
  });
});
