import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { serveStream, DEFAULT_SERVE_OPTIONS } from '../../core/serve';
import { createS3Storage } from '../../storage/s3';
import type { Storage } from '../../storage/types';
import { collect, parseMultipart } from '../support/http';
import { MEDIA_REQUEST } from '../../support/user-agents';

/**
 * What only a mock can show: exact S3 calls and inputs per client request, and AWS-specific error
 * shapes (ActualObjectSize, throttling). Behaviour against a real S3 server is in test/integration.
 */

const SIZE = 1000;
const DATA = Buffer.from(Array.from({ length: SIZE }, (_, i) => i % 256));
const ETAG = '"0123456789abcdef0123456789abcdef"';
const MODIFIED = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const s3 = mockClient(S3Client);
const quiet = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined, boundary: () => 'B' };
let storage: Storage;
let bodies: Readable[];

function body(start: number, end: number): Readable {
  const stream = Readable.from([DATA.subarray(start, end + 1)], { objectMode: false });
  bodies.push(stream);
  return stream;
}

/** What S3 answers to a GetObject, including Range semantics, for the object above. */
function getObject(input: { Range?: string | undefined }) {
  const range = /^bytes=(\d*)-(\d*)$/.exec(input.Range ?? '');
  if (!range) return { Body: body(0, SIZE - 1), ContentLength: SIZE, ETag: ETAG, LastModified: MODIFIED } as never;
  const [, first = '', last = ''] = range;
  const start = first === '' ? Math.max(0, SIZE - Number(last)) : Number(first);
  const end = first === '' || last === '' ? SIZE - 1 : Math.min(Number(last), SIZE - 1);
  return { Body: body(start, end), ContentLength: end - start + 1, ContentRange: `bytes ${start}-${end}/${SIZE}`, ETag: ETAG, LastModified: MODIFIED } as never;
}

function s3Error(name: string, status: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } }), extra);
}

const request = (headers: Record<string, string> = {}, method = 'GET') =>
  serveStream({ method, rawPath: '/api/stream/clip__1.mp4', rawQuery: '', headers }, storage, quiet);

beforeEach(async () => {
  s3.reset();
  bodies = [];
  s3.on(GetObjectCommand).callsFake(getObject);
  s3.on(HeadObjectCommand).resolves({ ContentLength: SIZE, ETag: ETAG, LastModified: MODIFIED });
  storage = await createS3Storage({ client: new S3Client({ region: 'us-east-1' }), bucket: 'videos', prefix: 'downloads/', accessDenied: 'missing' });
});

afterEach(() => {
  // Every body S3 handed over was read to the end or destroyed: no socket kept out of the pool.
  for (const stream of bodies) expect(stream.destroyed || stream.readableEnded).toBe(true);
});

const gets = () => s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
const heads = () => s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input);

describe('S3 backend: one request per client request', () => {
  const WINDOW_END = (start: number) => start + 4 * 1024 * 1024 - 1;
  it.each([
    ['bytes=0-99', 'a download', {}, 'bytes=0-99', 'bytes 0-99/1000'],
    ['bytes=900-', 'a download', {}, 'bytes=900-', 'bytes 900-999/1000'],
    ['bytes=900-', 'a player', MEDIA_REQUEST, `bytes=900-${WINDOW_END(900)}`, 'bytes 900-999/1000'],
    ['bytes=-100', 'a player', MEDIA_REQUEST, 'bytes=-100', 'bytes 900-999/1000'],
    ['bytes=-5000', 'a download', {}, 'bytes=-5000', 'bytes 0-999/1000'],
    ['bytes=10-99999999999999999999999', 'a download', {}, 'bytes=10-', 'bytes 10-999/1000'],
    ['bytes=10-99999999999999999999999', 'a player', MEDIA_REQUEST, `bytes=10-${WINDOW_END(10)}`, 'bytes 10-999/1000'],
  ])('Range %s from %s is one GetObject with Range %s', async (range, _who, client, sent, contentRange) => {
    const res = await request({ ...client, range });
    expect([res.status, res.headers['content-range']]).toEqual([206, contentRange]);
    const [first, last] = (/bytes (\d+)-(\d+)/.exec(contentRange) ?? []).slice(1).map(Number);
    expect((await collect(res.body)).equals(DATA.subarray(first, (last ?? 0) + 1))).toBe(true);
    expect(gets()).toEqual([{ Bucket: 'videos', Key: 'downloads/clip__1.mp4', Range: sent }]);
    expect(heads()).toEqual([]);
  });

  it('a player\u2019s suffix longer than its window: one GetObject, of which only the window is used', async () => {
    const res = await serveStream(
      { method: 'GET', rawPath: '/api/stream/clip__1.mp4', rawQuery: '', headers: { ...MEDIA_REQUEST, range: 'bytes=-500' } },
      storage,
      { ...quiet, maxRangeBytes: 100 },
    );
    expect([res.status, res.headers['content-range']]).toEqual([206, 'bytes 500-599/1000']);
    expect((await collect(res.body)).equals(DATA.subarray(500, 600))).toBe(true);
    expect(gets()).toEqual([{ Bucket: 'videos', Key: 'downloads/clip__1.mp4', Range: 'bytes=-500' }]);
    expect(bodies[0]?.destroyed).toBe(true);
  });

  it('a GET without Range is one GetObject without Range', async () => {
    const res = await request();
    expect(res.status).toBe(200);
    expect((await collect(res.body)).equals(DATA)).toBe(true);
    expect(gets()).toEqual([{ Bucket: 'videos', Key: 'downloads/clip__1.mp4' }]);
  });

  it('an invalid Range is never sent: one GetObject of the whole object', async () => {
    for (const range of ['bytes=5-1', 'bytes=abc', 'bytes=0-1;x']) {
      s3.resetHistory();
      const res = await request({ range });
      expect(res.status).toBe(200);
      await collect(res.body);
      expect(gets()[0]?.Range).toBeUndefined();
    }
  });

  it('HEAD is one HeadObject', async () => {
    const res = await request({ range: 'bytes=0-1' }, 'HEAD');
    expect([res.status, res.headers['content-range'], res.body]).toEqual([206, 'bytes 0-1/1000', undefined]);
    expect(heads()).toHaveLength(1);
    expect(gets()).toHaveLength(0);
  });

  it('passes conditions S3 can evaluate, and maps its 304 (an error in SDK v3) to a 304', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('304', 304, { $response: { headers: { etag: ETAG, 'last-modified': MODIFIED.toUTCString() } } }));
    const res = await request({ 'if-none-match': ETAG });
    expect(res.status).toBe(304);
    expect(res.headers).toEqual({ etag: ETAG, 'last-modified': MODIFIED.toUTCString() });
    expect(gets()).toEqual([{ Bucket: 'videos', Key: 'downloads/clip__1.mp4', IfNoneMatch: ETAG }]);
  });

  it('a 304 the core decides itself releases the body S3 already sent', async () => {
    // A list is not passed to S3; S3 answers 200 and the core answers 304.
    const res = await request({ 'if-none-match': `"other", ${ETAG}` });
    expect(res.status).toBe(304);
    expect(gets()).toHaveLength(1);
    expect(bodies[0]?.destroyed).toBe(true);
  });

  it('If-Range goes as IfMatch; a 412 then gives the whole current object with a second GetObject', async () => {
    s3.on(GetObjectCommand, { IfMatch: '"stale"' }).rejects(s3Error('PreconditionFailed', 412));
    const res = await request({ range: 'bytes=0-9', 'if-range': '"stale"' });
    expect(res.status).toBe(200);
    expect((await collect(res.body)).equals(DATA)).toBe(true);
    expect(gets()).toEqual([
      { Bucket: 'videos', Key: 'downloads/clip__1.mp4', Range: 'bytes=0-9', IfMatch: '"stale"' },
      { Bucket: 'videos', Key: 'downloads/clip__1.mp4' },
    ]);
  });

  it('a 412 for the client\u2019s own If-Match stays a 412', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    expect((await request({ 'if-match': '"stale"' })).status).toBe(412);
    expect(gets()).toHaveLength(1);
  });

  it('InvalidRange: the size from ActualObjectSize (as AWS sends it), without another request', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('InvalidRange', 416, { ActualObjectSize: '1000' }));
    const res = await request({ range: 'bytes=5000-' });
    expect([res.status, res.headers['content-range']]).toEqual([416, 'bytes */1000']);
    expect(heads()).toHaveLength(0);
  });

  it('InvalidRange without ActualObjectSize: one HeadObject for the size', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('InvalidRange', 416));
    const res = await request({ range: 'bytes=5000-' });
    expect([res.status, res.headers['content-range']]).toEqual([416, 'bytes */1000']);
    expect(heads()).toHaveLength(1);
  });

  it('NoSuchKey and NotFound are the 404 of the endpoint', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
    for (const method of ['GET', 'HEAD']) {
      const res = await request({}, method);
      expect(res.status).toBe(404);
      if (method === 'GET') expect((await collect(res.body)).toString()).toBe('{"detail":"Archivo no encontrado"}');
    }
  });

  it('AccessDenied is a 404 by default and a 502 when configured as an error', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    expect((await request()).status).toBe(404);
    storage = await createS3Storage({ client: new S3Client({ region: 'us-east-1' }), bucket: 'videos', prefix: '', accessDenied: 'error' });
    expect((await request()).status).toBe(502);
  });

  it('throttling, 5xx and timeouts that outlast the SDK retries are 503/502 with no SDK text', async () => {
    const cases: Array<[Error, number]> = [
      [s3Error('SlowDown', 503), 503],
      [s3Error('InternalError', 500), 502],
      [Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }), 503],
      [Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443 bucket videos'), { code: 'ECONNREFUSED' }), 502],
      // The SDK's own shape for a connection reset by the server: named TimeoutError, but not slow.
      [Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }), 502],
    ];
    for (const [error, status] of cases) {
      s3.on(GetObjectCommand).rejects(error);
      const res = await request();
      const text = (await collect(res.body)).toString();
      expect(res.status).toBe(status);
      expect(text).toBe('{"detail":"Almacenamiento no disponible"}');
    }
  });

  it('multipart: one HeadObject, then one GetObject per part, each pinned to the version with IfMatch', async () => {
    const res = await request({ range: 'bytes=0-9,500-509' });
    expect(res.status).toBe(206);
    const parts = parseMultipart(await collect(res.body), 'B');
    expect(parts.map((p) => p.headers['content-range'])).toEqual(['bytes 0-9/1000', 'bytes 500-509/1000']);
    expect(parts[0]?.body.equals(DATA.subarray(0, 10))).toBe(true);
    expect(parts[1]?.body.equals(DATA.subarray(500, 510))).toBe(true);
    expect(heads()).toHaveLength(1);
    expect(gets()).toEqual([
      { Bucket: 'videos', Key: 'downloads/clip__1.mp4', Range: 'bytes=0-9', IfMatch: ETAG },
      { Bucket: 'videos', Key: 'downloads/clip__1.mp4', Range: 'bytes=500-509', IfMatch: ETAG },
    ]);
  });

  it('a part read after the object changed fails the response instead of mixing versions', async () => {
    s3.on(GetObjectCommand, { IfMatch: ETAG }).rejects(s3Error('PreconditionFailed', 412));
    const res = await request({ range: 'bytes=0-9,500-509' });
    await expect(collect(res.body)).rejects.toThrow('changed while it was being read');
  });
});
