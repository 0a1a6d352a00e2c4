import { describe, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { BIG_NAME, BIG_SIZE } from '../support/fixtures';
import { SAMPLE_NAME } from '../support/paths';
import { request } from '../support/client';
import { resetS3Requests, s3Requests, settledS3Connections, storageWriter, type BackendContext } from '../support/backends';
import { socketCount } from '../support/fds';
import { servingPids } from '../support/processes';
import { DEFAULT_MAX_RANGE_BYTES } from '../../core/plan';
import { MEDIA_REQUEST } from '../../support/user-agents';

const backend = inject('backends').find((b) => b.kind === 's3') as BackendContext;
const WINDOW = DEFAULT_MAX_RANGE_BYTES;
const at = (name: string) => `${backend.url}/api/stream/${encodeURIComponent(name)}`;
const key = (name: string) => `/${backend.s3?.bucket}/${backend.s3?.prefix}${name}`;

/** What each client request costs in S3 requests, counted where the S3 server receives them. */
async function costOf(send: () => Promise<unknown>) {
  await resetS3Requests(backend);
  await send();
  return s3Requests(backend);
}

describe('S3 requests per client request, counted on the wire', () => {
  it('a ranged GET is exactly one GetObject carrying the validated range', async () => {
    const player = MEDIA_REQUEST;
    const cases: Array<[string, Record<string, string>, string]> = [
      ['bytes=0-1023', {}, 'bytes=0-1023'],
      // Open and oversized ranges: only the window a player gets (MAX_RANGE_BYTES, 4 MiB)...
      ['bytes=1000000-', player, `bytes=1000000-${1_000_000 + WINDOW - 1}`],
      ['bytes=0-20000000', player, `bytes=0-${WINDOW - 1}`],
      [`bytes=5-${'9'.repeat(25)}`, player, `bytes=5-${5 + WINDOW - 1}`],
      // ...and what was asked for anyone else.
      ['bytes=1000000-', {}, 'bytes=1000000-'],
      ['bytes=0-20000000', {}, 'bytes=0-20000000'],
      [`bytes=5-${'9'.repeat(25)}`, {}, 'bytes=5-'],
      ['bytes=-500', player, 'bytes=-500'],
      ['bytes=0-1', player, 'bytes=0-1'],
      // A suffix longer than the file is sent as asked: S3 answers it with the whole file.
      [`bytes=-${BIG_SIZE + 1000}`, {}, `bytes=-${BIG_SIZE + 1000}`],
    ];
    for (const [range, client, sent] of cases) {
      let status = 0;
      const seen = await costOf(async () => (status = (await request(at(BIG_NAME), { headers: { ...client, range } })).status));
      expect([status, seen], range).toEqual([206, [{ method: 'GET', path: key(BIG_NAME), range: sent }]]);
    }
  });

  it('a GET without Range, or with a Range S3 must not see, is one GetObject without Range', async () => {
    for (const range of [undefined, 'bytes=9-1', 'bytes=abc', 'bytes=0-1;x', 'items=0-1']) {
      const seen = await costOf(() => request(at(SAMPLE_NAME), { headers: range === undefined ? {} : { range } }));
      expect(seen).toEqual([{ method: 'GET', path: key(SAMPLE_NAME) }]);
    }
  });

  it('HEAD is one HeadObject', async () => {
    const seen = await costOf(() => request(at(SAMPLE_NAME), { method: 'HEAD', headers: { range: 'bytes=0-1' } }));
    expect(seen).toEqual([{ method: 'HEAD', path: key(SAMPLE_NAME) }]);
  });

  it('conditions travel in the same request; 304 and 412 cost one request', async () => {
    const { etag: tag, 'last-modified': lastModified } = (await request(at(SAMPLE_NAME), { method: 'HEAD' })).headers;
    const etag = String(tag);
    let answer: Awaited<ReturnType<typeof request>> | undefined;
    const notModified = await costOf(async () => (answer = await request(at(SAMPLE_NAME), { headers: { 'if-none-match': etag, range: 'bytes=0-9' } })));
    expect(notModified).toEqual([{ method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=0-9', ifNoneMatch: etag }]);
    // S3's 304 (an error in SDK v3) is the client's 304, with the validators S3 sent.
    expect([answer?.status, answer?.headers.etag, answer?.headers['last-modified'], answer?.body.length]).toEqual([304, etag, lastModified, 0]);
    const failed = await costOf(async () => (answer = await request(at(SAMPLE_NAME), { headers: { 'if-match': '"nope"' } })));
    expect(failed).toEqual([{ method: 'GET', path: key(SAMPLE_NAME), ifMatch: '"nope"' }]);
    expect(answer?.status).toBe(412);
  });

  it('If-Range is IfMatch on the ranged GET; only a stale one costs a second request', async () => {
    const etag = String((await request(at(SAMPLE_NAME), { method: 'HEAD' })).headers.etag);
    const current = await costOf(() => request(at(SAMPLE_NAME), { headers: { range: 'bytes=10-19', 'if-range': etag } }));
    expect(current).toEqual([{ method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=10-19', ifMatch: etag }]);
    let answer: Awaited<ReturnType<typeof request>> | undefined;
    const stale = await costOf(async () => (answer = await request(at(SAMPLE_NAME), { headers: { range: 'bytes=10-19', 'if-range': '"stale"' } })));
    expect([answer?.status, answer?.body.equals(readFileSync(join(backend.downloads, SAMPLE_NAME)))]).toEqual([200, true]);
    expect(stale).toEqual([
      { method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=10-19', ifMatch: '"stale"' },
      { method: 'GET', path: key(SAMPLE_NAME) },
    ]);
  });

  it('an unsatisfiable range: one GetObject, plus one HeadObject for the size (Swift, unlike AWS, omits ActualObjectSize)', async () => {
    const seen = await costOf(async () => {
      const res = await request(at(SAMPLE_NAME), { headers: { range: 'bytes=99999999-' } });
      expect([res.status, res.headers['content-range']]).toEqual([416, `bytes */${readFileSync(join(backend.downloads, SAMPLE_NAME)).length}`]);
    });
    expect(seen.map((r) => r.method)).toEqual(['GET', 'HEAD']);
  });

  it('conditions S3 cannot be shown stay with the core, which decides what S3 cannot (RFC 9110 §13.2.2)', async () => {
    const etag = String((await request(at(SAMPLE_NAME), { method: 'HEAD' })).headers.etag);
    // An If-Match list fails first: S3, shown the If-None-Match alone, would answer 304.
    const listed = await costOf(async () => {
      const res = await request(at(SAMPLE_NAME), { headers: { 'if-match': '"x", "y"', 'if-none-match': etag } });
      expect(res.status).toBe(412);
    });
    expect(listed).toEqual([{ method: 'GET', path: key(SAMPLE_NAME) }]);
    // S3's 416 is not the answer when a condition comes first: the core asks for the metadata.
    const unsatisfiable = await costOf(async () => {
      const res = await request(at(SAMPLE_NAME), { headers: { range: 'bytes=99999999-', 'if-none-match': `"zz", ${etag}` } });
      expect(res.status).toBe(304);
    });
    // GET (416), HEAD for the size Swift's 416 omits, HEAD for the core's own decision.
    expect(unsatisfiable).toEqual([
      { method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=99999999-' },
      { method: 'HEAD', path: key(SAMPLE_NAME) },
      { method: 'HEAD', path: key(SAMPLE_NAME) },
    ]);
  });

  it('a 304 the core decides itself (a listed If-None-Match) costs one GetObject, whose body it releases unread', async () => {
    const etag = String((await request(at(BIG_NAME), { method: 'HEAD' })).headers.etag);
    const { bytesOut } = await settledS3Connections(backend);
    let status = 0;
    const seen = await costOf(async () => (status = (await request(at(BIG_NAME), { headers: { 'if-none-match': `"other", ${etag}` } })).status));
    expect([status, seen.length]).toEqual([304, 1]);
    // Left unread, the 24 MiB body would hold its S3 request open; released, it stops at the socket buffers.
    const after = await settledS3Connections(backend);
    expect(after.inFlight).toBe(0);
    expect(after.bytesOut - bytesOut).toBeLessThan(BIG_SIZE / 2);
  });

  it('multipart: one HeadObject, then one GetObject per part, each pinned to the version with IfMatch', async () => {
    const etag = String((await request(at(SAMPLE_NAME), { method: 'HEAD' })).headers.etag);
    let status = 0;
    const seen = await costOf(async () => (status = (await request(at(SAMPLE_NAME), { headers: { range: 'bytes=0-9,500-509' } })).status));
    expect(status).toBe(206);
    expect(seen).toEqual([
      { method: 'HEAD', path: key(SAMPLE_NAME) },
      { method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=0-9', ifMatch: etag },
      { method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=500-509', ifMatch: etag },
    ]);
  });

  it('keys under the prefix, Unicode and spaces included, are the only ones read', async () => {
    const writer = storageWriter(backend);
    const name = 'Ünïcödé con espacios + más (2)__cafe-0000.mp4';
    await writer.put(name, Buffer.from('hola'));
    const seen = await costOf(async () => {
      const res = await request(at(name));
      expect(res.body.toString()).toBe('hola');
    });
    expect(seen).toEqual([{ method: 'GET', path: key(name) }]);
    await writer.remove(name);
  });
});

describe('1 000 requests, half of them abandoned mid-body', () => {
  it('leave no S3 request open, stay within the socket pool, and never make the SDK warn', async () => {
    const before = socketCount(servingPids(backend));
    const one = (i: number) =>
      new Promise<void>((resolve) => {
        const start = (i * 7919) % (BIG_SIZE - 2_000_000);
        const req = httpRequest(at(BIG_NAME), { agent: false, headers: { range: `bytes=${start}-${start + 1_000_000}` } }, (res) => {
          if (i % 2 === 0) res.once('data', () => req.destroy());
          else res.resume();
        });
        req.on('error', () => undefined);
        req.on('close', () => resolve());
        req.end();
      });
    const deadline = Date.now() + 120_000;
    let next = 0;
    // 32 clients at a time: beyond a single container's load, within the SDK's pool of 50.
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 1000 && Date.now() < deadline) await one(next++);
      }),
    );
    expect(next).toBe(1000);
    const connections = await settledS3Connections(backend);
    expect(connections.inFlight).toBe(0);
    expect(connections.open).toBeLessThanOrEqual(50);
    expect(socketCount(servingPids(backend)) - before).toBeLessThanOrEqual(50);
    // The SDK logs "socket usage at capacity" when requests queue for sockets.
    expect(readFileSync(backend.logFile, 'utf8')).not.toMatch(/socket usage at capacity|additional requests are enqueued/);
    console.info(`after 1000 requests: ${connections.open} pooled S3 connections, ${connections.inFlight} in flight, server sockets ${before} -> ${socketCount(servingPids(backend))}`);
  });
});
