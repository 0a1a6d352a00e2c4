import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MESSAGES } from '../../core/plan';
import { signedQuery } from '../../core/signing';
import { buildEdgeFunctions } from '../../edge/bundle.mjs';
import { s3ClientFor } from '../support/backends';
import { startCdnStandIn, type CdnStandIn } from '../support/cdn-stand-in';
import { launchEngine, type Engine } from '../support/engines';
import { LONG_MP4_NAME } from '../support/fixtures';
import { startOffline, type OfflineServer } from '../support/offline-server';
import { seededRandom } from '../support/random';
import { startS3Proxy, type S3Proxy, type SeenRequest } from '../../support/s3-proxy';
import { requireTool } from '../support/tools';
import { playAndSeek } from './media-script';

/**
 * CDN mode through a real caching proxy (test/support/cdn-stand-in.ts): the bundled edge
 * functions in the cloudfront-js-2.0 sandbox before and after nginx's cache of 1 MiB slices, S3
 * (Swift, signed as OAC signs) under the prefix, failing over to `npm start` with CDN_MODE=true.
 * Origin requests are counted on the wire: at a proxy in front of S3 and one in front of the
 * function. What only a real CloudFront can show is in the README ("The CDN stand-in").
 */
const run = promisify(execFile);
const SECRET = randomBytes(32).toString('base64url');
const ORIGIN = 'https://player.example';
const PREFIX = 'cdn-stand-in/';
const MiB = 1024 * 1024;
const SLICE = MiB;
const MAX_AGE = 31_536_000;
const ERROR_MAX_AGE = 60;
const originPath = (createRequire(import.meta.url)('../../stack/template.cjs') as { originPath(prefix: string): string | undefined })
  .originPath;

/** The files the stand-in serves: each test has its own, so that what one caches cannot help another. */
const FILES = {
  ranges: { name: 'Stand_In_Ranges__2f1e0d9c-8b7a-4695-8473-625140302010.mp4', data: randomBytes(6 * MiB + 123_457) },
  // Characters a URI keeps unencoded, and non-ASCII: the name must survive the edge, nginx and the signer.
  odd: { name: "Ñandú Q&A? #1, a+b=c; it's (1)__6e5d4c3b-2a19-4087-9f6e-5d4c3b2a1908.mp4", data: randomBytes(SLICE + 4_321) },
  viewers: { name: 'Stand_In_Viewers__3a4b5c6d-7e8f-4091-a2b3-c4d5e6f70819.mp4', data: randomBytes(5 * MiB + 777) },
  versions: { name: 'Stand_In_Versions__9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a.mp4', data: randomBytes(5 * MiB + 1_000) },
  refused: { name: 'Stand_In_Refused__0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9.mp4', data: randomBytes(2 * MiB + 99) },
  contract: { name: 'Stand_In_Contract__5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d.mp4', data: randomBytes(3 * MiB + 5_555) },
  empty: { name: 'Stand_In_Empty__00000000-1111-4222-8333-444444444444.mp4', data: Buffer.alloc(0) },
};
const MISSING = 'Stand_In_Missing__deadbeef-0000-4000-8000-000000000000.mp4';

let standIn: CdnStandIn;
let fn: OfflineServer;
let s3Counter: S3Proxy;
let fnCounter: S3Proxy;
let work: string;
let longMp4: Buffer;
const stops: Array<() => Promise<unknown>> = [];
/**
 * Not in npm test's Node.js 22 run through aws-lambda-ric (LAMBDA_RUNTIME=ric): what this file
 * proves is the edge and the cache in front of the function; the function's answers under that
 * runtime are the rest of the http project's concern, and CI time is better spent there.
 */
const UNDER_RIC = process.env.LAMBDA_RUNTIME === 'ric';

beforeAll(async () => {
  if (UNDER_RIC) return;
  const backend = inject('backends').find((b) => b.s3 !== undefined);
  const s3 = backend?.s3;
  if (backend === undefined || s3 === undefined) throw new Error('the global setup has no S3 backend');
  work = await mkdtemp(join(tmpdir(), 'cdn-stand-in-'));
  stops.push(() => rm(work, { recursive: true, force: true }));
  longMp4 = await readFile(join(backend.downloads, LONG_MP4_NAME));
  // The tests' own writes go to Swift itself, not through a counting proxy.
  const client = s3ClientFor(s3);
  for (const file of [...Object.values(FILES), { name: LONG_MP4_NAME, data: longMp4 }]) {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: PREFIX + file.name, Body: file.data }));
  }
  client.destroy();

  s3Counter = await startS3Proxy(s3.endpoint);
  stops.push(() => s3Counter.stop());
  // `npm start` as CDN mode runs it: the bucket under the prefix, no windows, no link check here
  // (SIGNING_SECRET only makes its answers private, as the edge's are).
  fn = await startOffline(work, {
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    STORAGE: 's3',
    S3_BUCKET: s3.bucket,
    S3_PREFIX: PREFIX,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    CDN_MODE: 'true',
    CDN_MAX_AGE: String(MAX_AGE),
    CDN_ERROR_MAX_AGE: String(ERROR_MAX_AGE),
    SIGNING_SECRET: SECRET,
    CORS_ORIGINS: ORIGIN,
  });
  stops.push(() => fn.stop());
  fnCounter = await startS3Proxy(fn.url);
  stops.push(() => fnCounter.stop());
  standIn = await startCdnStandIn({
    edge: await buildEdgeFunctions({ signingSecret: SECRET, corsOrigins: ORIGIN, maxAge: MAX_AGE, errorMaxAge: ERROR_MAX_AGE }),
    s3: { ...s3, endpoint: s3Counter.url },
    originPath: originPath(PREFIX) ?? '',
    functionUrl: fnCounter.url,
    cache: { maxAge: MAX_AGE, errorMaxAge: ERROR_MAX_AGE },
    sliceBytes: SLICE,
  });
  stops.push(() => standIn.stop());
}, 180_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

// ---- helpers ---------------------------------------------------------------------------------

interface Got {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body arrived whole (its Content-Length, or the end of a chunked body). */
  readonly complete: boolean;
}

/** One request to `base` (the stand-in unless told), bounded in time; a body cut short is reported, not thrown. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET', base = standIn.url): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('close', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }),
      );
      res.once('error', () => undefined);
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
    req.once('error', reject);
    req.end();
  });
}

/** A link as `npm run sign` makes it, valid for `ttl` seconds from now (negative: expired). */
function link(name: string, ttl = 600, extra = ''): string {
  return `/api/stream/${encodeURIComponent(name)}?${signedQuery(name, SECRET, ttl)}${extra}`;
}

async function seen(proxy: S3Proxy): Promise<SeenRequest[]> {
  return (await fetch(`${proxy.adminUrl}/requests`)).json() as Promise<SeenRequest[]>;
}

/** Requests each origin has had so far, on the wire. */
async function originCounts(): Promise<{ s3: number; fn: number }> {
  return { s3: (await seen(s3Counter)).length, fn: (await seen(fnCounter)).length };
}

/**
 * nginx's access log once it has a line for every request the edge passed on: nginx writes the
 * line as a request ends, which may be just after the viewer has the last byte.
 */
async function settledAccessLog(): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const lines = await standIn.nginx.accessLog();
    const { toBytes, toFn } = standIn.counts();
    if (lines.length >= toBytes + toFn) return lines;
    if (Date.now() > deadline) throw new Error(`nginx logged ${lines.length} requests of the ${toBytes + toFn} the edge passed on`);
    await sleep(50);
  }
}

/** Body bytes each origin has sent so far (what the counting proxies forwarded). */
async function bytesSent(): Promise<{ s3: number; fn: number }> {
  const of = async (proxy: S3Proxy) => ((await (await fetch(`${proxy.adminUrl}/connections`)).json()) as { bytesOut: number }).bytesOut;
  return { s3: await of(s3Counter), fn: await of(fnCounter) };
}

async function requestsFor(proxy: S3Proxy, name: string): Promise<SeenRequest[]> {
  return (await seen(proxy)).filter((r) => r.path.endsWith(`/${name}`));
}

type RangeCase = { readonly header: string; readonly start: number; readonly end: number };

/** Open, closed and suffix ranges of a file of `size` bytes, with the slice boundaries among them. */
function rangeCases(size: number, count: number, seed: number): RangeCase[] {
  const next = seededRandom(seed);
  const at = () => Math.floor(next() * size);
  const cases: RangeCase[] = [
    { header: 'bytes=0-0', start: 0, end: 0 },
    { header: `bytes=${SLICE - 1}-${SLICE}`, start: SLICE - 1, end: SLICE },
    { header: `bytes=${size - 1}-`, start: size - 1, end: size - 1 },
    { header: 'bytes=-1', start: size - 1, end: size - 1 },
    // A suffix longer than the file is the whole file (RFC 9110), as the function answers it.
    { header: `bytes=-${size + 10}`, start: 0, end: size - 1 },
    { header: `bytes=${2 * SLICE}-${size + 1_000_000}`, start: 2 * SLICE, end: size - 1 },
  ];
  while (cases.length < count) {
    const kind = cases.length % 3;
    if (kind === 0) {
      const start = at();
      cases.push({ header: `bytes=${start}-`, start, end: size - 1 });
    } else if (kind === 1) {
      const a = at();
      const b = Math.min(size - 1, a + Math.floor(next() * 3 * SLICE));
      cases.push({ header: `bytes=${a}-${b}`, start: a, end: b });
    } else {
      const length = 1 + Math.floor(next() * 2 * SLICE);
      cases.push({ header: `bytes=-${length}`, start: size - length, end: size - 1 });
    }
  }
  return cases;
}

function expectRange(got: Got, data: Buffer, c: RangeCase): void {
  const label = `${c.header} of ${data.length}`;
  expect(got.status, label).toBe(206);
  expect(got.complete, label).toBe(true);
  expect(got.headers['content-range'], label).toBe(`bytes ${c.start}-${c.end}/${data.length}`);
  expect(got.headers['content-length'], label).toBe(String(c.end - c.start + 1));
  expect(got.body.equals(data.subarray(c.start, c.end + 1)), label).toBe(true);
}

// ---- the tests -------------------------------------------------------------------------------

describe.skipIf(UNDER_RIC)(
  'CDN mode through a caching proxy: the edge functions before and after nginx with slices, S3 failing over to the function',
  () => {
    it('serves random open, closed and suffix ranges of a 7-slice file byte for byte, and curl -C - resumes it', async () => {
      const { name, data } = FILES.ranges;
      const cases = rangeCases(data.length, 36, 20_261_201);
      const etags = new Set<string>();
      for (const c of cases) {
        const got = await get(link(name), { range: c.header });
        expectRange(got, data, c);
        etags.add(String(got.headers.etag));
      }
      // Every slice of the file came from one object: one validator for all the answers.
      expect(etags.size).toBe(1);
      const whole = await get(link(name));
      expect(whole.status).toBe(200);
      expect(whole.body.equals(data)).toBe(true);
      expect(whole.headers['content-type']).toBe('video/mp4');
      expect(whole.headers.etag).toBe([...etags][0]);

      // A name with reserved and non-ASCII characters reaches S3 as the right key, and back.
      const odd = await get(link(FILES.odd.name), { range: `bytes=${SLICE - 10}-` });
      expectRange(odd, FILES.odd.data, { header: '', start: SLICE - 10, end: FILES.odd.data.length - 1 });

      const curl = requireTool('/usr/bin/curl', 'curl');
      const partial = join(work, 'resume.mp4');
      await writeFile(partial, data.subarray(0, 2_500_000));
      const { stdout } = await run(curl, ['-sS', '-C', '-', '-o', partial, '-w', '%{http_code}', `${standIn.url}${link(name)}`]);
      expect(stdout).toBe('206');
      expect((await readFile(partial)).equals(data)).toBe(true);
      expect(standIn.counts().functionErrors).toEqual([]);
    });

    it('serves a second viewer from the cache: neither S3 nor the function is asked again', async () => {
      const { name, data } = FILES.viewers;
      const size = data.length;
      const lastSlice = Math.floor((size - 1) / SLICE);
      const cases = rangeCases(size, 12, 7);
      const curl = requireTool('/usr/bin/curl', 'curl');
      // One viewer's visit: a HEAD, ranges, the whole file, a resume, and a file that is not there.
      const visit = async (ttl: number) => {
        const l = (n: string) => link(n, ttl);
        const head = await get(l(name), {}, 'HEAD');
        expect(head.status).toBe(200);
        expect(head.headers['content-length']).toBe(String(size));
        for (const c of cases) expectRange(await get(l(name), { range: c.header }), data, c);
        const whole = await get(l(name));
        expect(whole.body.equals(data)).toBe(true);
        const partial = join(work, `viewer-${ttl}.mp4`);
        await writeFile(partial, data.subarray(0, 3_000_000));
        await run(curl, ['-sS', '-C', '-', '-o', partial, `${standIn.url}${l(name)}`]);
        expect((await readFile(partial)).equals(data)).toBe(true);
        const missing = await get(l(MISSING));
        expect(missing.status).toBe(404);
        expect(JSON.parse(missing.body.toString())).toEqual({ detail: MESSAGES.notFound });
      };

      const before = await originCounts();
      await visit(600);
      const first = await originCounts();
      // What a cache of slices must have asked S3 for, each slice once: the slices each request
      // spans; a suffix range also costs slice 0 (nginx's slice module starts a suffix there);
      // a HEAD or a whole GET costs slice 0 and, for the GET, the rest.
      const slices = new Set<number>([0]);
      const span = (start: number, end: number) => {
        for (let s = Math.floor(start / SLICE); s <= Math.floor(end / SLICE); s += 1) slices.add(s);
      };
      for (const c of cases) span(c.start, c.end);
      span(0, size - 1);
      span(3_000_000, size - 1);
      expect(slices.size).toBe(lastSlice + 1);
      const s3First = await requestsFor(s3Counter, name);
      expect(s3First.map((r) => r.range).sort()).toEqual([...slices].map((s) => `bytes=${s * SLICE}-${s * SLICE + SLICE - 1}`).sort());
      // Plus the missing file: once at S3 (no such key), once at the function (the JSON 404).
      expect(first.s3 - before.s3).toBe(slices.size + 1);
      expect(first.fn - before.fn).toBe(1);

      // Another viewer, with a link of its own (another expiry, another signature): the same keys.
      await visit(900);
      const second = await originCounts();
      console.info(
        `cdn stand-in, ${Math.ceil(size / SLICE)} slices: first viewer S3 ${first.s3 - before.s3}, function ${first.fn - before.fn}; second viewer S3 ${second.s3 - first.s3}, function ${second.fn - first.fn}`,
      );
      expect(second).toEqual(first);
    });

    it('never joins slices of two versions of a file: a viewer gets the old bytes, the new bytes, or a cut answer', async () => {
      const { name } = FILES.versions;
      const old = FILES.versions.data;
      const size = old.length;
      // The first viewer leaves slices 0 and 1 of the old version in the cache.
      const early = await get(link(name), { range: `bytes=0-${2 * SLICE - 1}` });
      expectRange(early, old, { header: '', start: 0, end: 2 * SLICE - 1 });
      const oldTag = String(early.headers.etag);

      // The object is replaced under the same name (the contract says it never is; this is the safety net).
      const fresh = randomBytes(size);
      const backend = inject('backends').find((b) => b.s3 !== undefined);
      if (backend?.s3 === undefined) throw new Error('no S3 backend');
      const client = s3ClientFor(backend.s3);
      await client.send(new PutObjectCommand({ Bucket: backend.s3.bucket, Key: PREFIX + name, Body: fresh }));
      client.destroy();

      const versionOf = (got: Got, start: number) => {
        const oldPart = old.subarray(start, start + got.body.length);
        const newPart = fresh.subarray(start, start + got.body.length);
        return { old: got.body.equals(oldPart), new: got.body.equals(newPart) };
      };

      // Across the two: nginx finds slice 2 with another ETag than slice 1 and cuts the answer.
      // What arrived is old bytes only, and the viewer can tell the answer is incomplete.
      for (const [start, header] of [
        [0, undefined],
        [SLICE + 7, `bytes=${SLICE + 7}-${3 * SLICE}`],
      ] as const) {
        const got = await get(link(name), header === undefined ? {} : { range: header });
        expect(got.complete, `${header ?? 'whole'} must not arrive complete`).toBe(false);
        expect(got.headers.etag).toBe(oldTag);
        // Nothing past the two old slices the cache holds.
        expect(start + got.body.length).toBeLessThanOrEqual(2 * SLICE);
        expect(versionOf(got, start).old, `${header ?? 'whole'}: what arrived is old bytes`).toBe(true);
      }
      // Cached slices: the old bytes, with the old validator.
      const cached = await get(link(name), { range: `bytes=100-${SLICE + 100}` });
      expectRange(cached, old, { header: '', start: 100, end: SLICE + 100 });
      expect(cached.headers.etag).toBe(oldTag);
      // Slices never cached: the new bytes, with the new validator.
      const uncached = await get(link(name), { range: `bytes=${3 * SLICE + 5}-${4 * SLICE + 5}` });
      expectRange(uncached, fresh, { header: '', start: 3 * SLICE + 5, end: 4 * SLICE + 5 });
      expect(uncached.headers.etag).not.toBe(oldTag);
      const newTag = String(uncached.headers.etag);

      // A range that starts in a slice of the new version is new throughout (slice 2 is then cached as new).
      const later = await get(link(name), { range: `bytes=${2 * SLICE + 1}-` });
      expectRange(later, fresh, { header: '', start: 2 * SLICE + 1, end: size - 1 });
      expect(later.headers.etag).toBe(newTag);
      // A client that resumes with If-Range (Chromium does) goes to the function, which compares
      // with the stored object: the old validator gets the whole new file, never a mix.
      const resumed = await get(link(name), { range: `bytes=${SLICE}-`, 'if-range': oldTag });
      expect(resumed.status).toBe(200);
      expect(resumed.body.equals(fresh)).toBe(true);
      expect(resumed.headers['cache-control']).toBe('no-store');
    });

    it('refuses forged and expired links at the edge, before the cache: no origin request, even for a cached file', async () => {
      const { name, data } = FILES.refused;
      // Cached first, so that a refusal cannot be a miss the origins refused.
      expectRange(await get(link(name), { range: 'bytes=0-99' }), data, { header: '', start: 0, end: 99 });
      const valid = link(name);
      const expires = /expires=(\d+)/.exec(valid)?.[1] ?? '';
      const signature = /signature=([^&]+)/.exec(valid)?.[1] ?? '';
      const forged = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
      const path = `/api/stream/${encodeURIComponent(name)}`;
      const refused: Array<[string, string, Record<string, string>]> = [
        ['forged', `${path}?expires=${expires}&signature=${forged}`, { range: 'bytes=0-99' }],
        ['expired', link(name, -60), { range: 'bytes=0-99' }],
        ['unsigned', path, {}],
        ['another file\u2019s signature', `${path}?${/\?(.*)$/.exec(link(FILES.contract.name))?.[1] ?? ''}`, {}],
        ['a later expiry than signed', `${path}?expires=${Number(expires) + 3600}&signature=${signature}`, {}],
        // Would go to the function directly (several ranges, If-Range): refused before that too.
        ['forged, several ranges', `${path}?expires=${expires}&signature=${forged}`, { range: 'bytes=0-1,5-6' }],
        ['forged, If-Range', `${path}?expires=${expires}&signature=${forged}`, { range: 'bytes=0-1', 'if-range': '"x"' }],
      ];
      const before = { origins: await originCounts(), edge: standIn.counts(), nginx: (await settledAccessLog()).length };
      for (const [label, target, headers] of refused) {
        for (const method of ['GET', 'HEAD']) {
          const got = await get(target, { ...headers, origin: ORIGIN }, method);
          expect(got.status, label).toBe(403);
          expect(got.headers['content-type'], label).toBe('application/json');
          expect(got.headers['cache-control'], label).toBe('no-store');
          expect(got.headers['access-control-allow-origin'], label).toBe(ORIGIN);
          if (method === 'GET') expect(JSON.parse(got.body.toString()), label).toEqual({ detail: MESSAGES.badSignature });
        }
      }
      const after = { origins: await originCounts(), edge: standIn.counts(), nginx: (await settledAccessLog()).length };
      expect(after.origins).toEqual(before.origins);
      expect(after.nginx).toBe(before.nginx);
      expect(after.edge.toBytes + after.edge.toFn).toBe(before.edge.toBytes + before.edge.toFn);
      expect(after.edge.generated - before.edge.generated).toBe(refused.length * 2);
      // A method the behaviour does not allow: CloudFront's own 403, before any function.
      const post = await get(valid, {}, 'POST');
      expect(post.status).toBe(403);
      expect(post.headers['content-type']).toBe('text/html');
      expect(standIn.counts().refusedMethods - before.edge.refusedMethods).toBe(1);
      expect(standIn.counts().generated).toBe(after.edge.generated);
      // The valid link still gets the cached bytes, from the cache.
      const ok = await get(valid, { range: 'bytes=0-99' });
      expectRange(ok, data, { header: '', start: 0, end: 99 });
      expect(ok.headers['x-cache']).toBe('Hit from stand-in');
      expect(await originCounts()).toEqual(before.origins);
    });

    it('plays and seeks a 19 MB MP4 in Chromium through the stand-in, the second viewer from the cache', async () => {
      let engine: Engine | undefined;
      try {
        engine = await launchEngine('chromium');
        const plan = { seeks: [30, 55, 5], toEnd: false, rate: 1, stallMs: 8_000, stepMs: 30_000 };
        const figures: string[] = [];
        const fromS3: string[][] = [];
        for (const viewer of [1, 2]) {
          const before = {
            s3: await requestsFor(s3Counter, LONG_MP4_NAME),
            fn: await requestsFor(fnCounter, LONG_MP4_NAME),
            edge: standIn.counts().forwarded.length,
            bytes: await bytesSent(),
          };
          // A page of the distribution's own origin (its 404 JSON is as good as any), a link per viewer.
          const src = `${standIn.url}${link(LONG_MP4_NAME, 600 + viewer)}`;
          // As engines.test.ts bounds a run: each step, and the launch and the page around them.
          const report = await engine.run(`${standIn.url}/`, playAndSeek, { ...plan, src }, plan.stepMs * (plan.seeks.length + 2) + 10_000);
          const events = report.events.join('\n');
          expect(report.error, events).toBeNull();
          expect(report.started, events).toBe(true);
          expect(
            report.seeks.map((s) => s.reached !== null),
            events,
          ).toEqual([true, true, true]);
          const after = {
            s3: await requestsFor(s3Counter, LONG_MP4_NAME),
            fn: await requestsFor(fnCounter, LONG_MP4_NAME),
            bytes: await bytesSent(),
          };
          const slices = after.s3.slice(before.s3.length).map((r) => r.range ?? 'whole');
          fromS3.push(slices);
          const passed = standIn.counts().forwarded.slice(before.edge);
          // Chromium's closed ranges come with If-Range: only the function answers those, uncached.
          const direct = passed.filter((f) => f.origin === 'fn');
          expect(after.fn.length - before.fn.length).toBe(direct.length);
          expect(direct.every((f) => /if-range=/.test(f.direct ?? ''))).toBe(true);
          const asked = passed.map((f) => (f.origin === 'fn' ? `fn ${decodeURIComponent(f.direct ?? '')}` : `${f.range ?? 'no range'}`));
          figures.push(
            `viewer ${viewer}: ${asked.join(', ')}; S3 ${slices.length} slices (${((after.bytes.s3 - before.bytes.s3) / MiB).toFixed(1)} MiB), function ${direct.length} (${((after.bytes.fn - before.bytes.fn) / MiB).toFixed(1)} MiB)`,
          );
        }
        // The second viewer never has S3 send a slice the first one had it send: those came from
        // the cache (it may need slices the first viewer never reached).
        const [first = [], second = []] = fromS3;
        expect(first.length).toBeGreaterThan(0);
        expect(second.filter((range) => first.includes(range))).toEqual([]);
        // Every slice at most once over both viewers.
        expect(new Set([...first, ...second]).size).toBe(first.length + second.length);
        console.info(`cdn stand-in, Chromium on ${Math.ceil(longMp4.length / SLICE)} slices: ${figures.join('; ')}`);
      } finally {
        await engine?.close();
      }
      expect(standIn.counts().functionErrors).toEqual([]);
    }, 400_000);

    describe('the contract through failover and at viewer response', () => {
      it('a missing file: the function\u2019s JSON 404 through failover, kept cdnErrorMaxAge', async () => {
        const name = 'Stand_In_Gone__12345678-9abc-4def-8012-3456789abcde.mp4';
        const before = await originCounts();
        const got = await get(link(name), { range: 'bytes=0-99' });
        expect(got.status).toBe(404);
        expect(got.headers['content-type']).toBe('application/json');
        expect(got.headers['cache-control']).toBe(`max-age=${ERROR_MAX_AGE}`);
        expect(JSON.parse(got.body.toString())).toEqual({ detail: MESSAGES.notFound });
        expect(await originCounts()).toEqual({ s3: before.s3 + 1, fn: before.fn + 1 });
        expect((await get(link(name))).status).toBe(404);
        expect(await originCounts()).toEqual({ s3: before.s3 + 1, fn: before.fn + 1 });
      });

      it('416: the function\u2019s JSON, never stored; a valid range of the same file works after it', async () => {
        const { name, data } = FILES.contract;
        const size = data.length;
        const expect416 = (got: Got) => {
          expect(got.status).toBe(416);
          expect(got.headers['content-range']).toBe(`bytes */${size}`);
          expect(got.headers['cache-control']).toBe('no-store');
          expect(JSON.parse(got.body.toString())).toEqual({ detail: MESSAGES.unsatisfiable });
        };
        const past = `bytes=${size + 3 * SLICE}-`;
        const before = await originCounts();
        // Past the last slice: S3 answers 416, and the function the contract's.
        expect416(await get(link(name), { range: past }));
        expect416(await get(link(name), { range: past }));
        const afterTwo = await originCounts();
        expect(afterTwo.fn - before.fn).toBe(2);
        expect(afterTwo.s3 - before.s3).toBe(2);
        // A valid range of the same name after it: the bytes, not a kept 416.
        expectRange(await get(link(name), { range: `bytes=${size - 10}-` }), data, { header: '', start: size - 10, end: size - 1 });
        // A start past the end inside the last slice, which the cache now holds: nginx's own 416
        // fails over too, and the function answers it (S3 is not asked again).
        const beforeInside = await originCounts();
        expect416(await get(link(name), { range: `bytes=${size + 1}-` }));
        expect(await originCounts()).toEqual({ s3: beforeInside.s3, fn: beforeInside.fn + 1 });
      });

      it('an empty file: S3 refuses its first slice, the function sends it', async () => {
        const got = await get(link(FILES.empty.name));
        expect(got.status).toBe(200);
        expect(got.headers['content-length']).toBe('0');
        expect(got.headers['content-type']).toBe('video/mp4');
      });

      it('requests only the function answers go to it directly, and are never stored', async () => {
        const { name, data } = FILES.contract;
        const before = await originCounts();
        for (let i = 0; i < 2; i += 1) {
          const got = await get(link(name), { range: 'bytes=0-1,5-6' });
          expect(got.status).toBe(206);
          expect(String(got.headers['content-type'])).toMatch(/^multipart\/byteranges; boundary=/);
          expect(got.headers['cache-control']).toBe('no-store');
          expect(got.body.includes(data.subarray(5, 7))).toBe(true);
        }
        expect(await originCounts()).toEqual({ s3: before.s3, fn: before.fn + 2 });
      });

      it('?download=1 and CORS are added at viewer response, per viewer, to cached bytes: as the function gives them', async () => {
        const { name } = FILES.odd;
        const compared = [
          'status',
          'content-type',
          'content-range',
          'content-disposition',
          'x-content-type-options',
          'accept-ranges',
          'cache-control',
          'access-control-allow-origin',
          'access-control-expose-headers',
          'vary',
        ];
        const view = (got: Got) =>
          Object.fromEntries(
            compared
              .map((field) => [field, field === 'status' ? String(got.status) : got.headers[field]])
              .filter(([, value]) => value !== undefined),
          );
        expect((await get(link(name), { range: 'bytes=0-0' })).status).toBe(206);
        const before = await originCounts();
        for (const origin of [ORIGIN, 'https://elsewhere.example', undefined]) {
          for (const download of ['&download=1', '']) {
            const headers: Record<string, string> = { range: 'bytes=10-20', ...(origin === undefined ? {} : { origin }) };
            const viaCdn = await get(link(name, 600, download), headers);
            // The function itself (CDN_MODE: it checks no link), for the same request.
            const viaFunction = await get(`/api/stream/${encodeURIComponent(name)}?x=1${download}`, headers, 'GET', fn.url);
            expect(view(viaCdn), `${origin} ${download}`).toEqual(view(viaFunction));
            if (download !== '') expect(viaCdn.headers['content-disposition']).toMatch(/^attachment; filename="/);
            if (origin === ORIGIN) expect(viaCdn.headers['access-control-allow-origin']).toBe(ORIGIN);
            else expect(viaCdn.headers['access-control-allow-origin']).toBeUndefined();
          }
        }
        // All six from one cached slice: S3 was not asked.
        expect((await originCounts()).s3).toBe(before.s3);
      });
    });
  },
);
