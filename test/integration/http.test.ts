import { beforeAll, describe, expect, inject, it } from 'vitest';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { BIG_NAME, BIG_SIZE, EMPTY_NAME, UNICODE_NAME } from '../support/fixtures';
import { SAMPLE_NAME } from '../support/paths';
import { request } from '../support/client';
import { parseMultipart } from '../support/http';
import { fdsUnder, socketCount } from '../support/fds';
import { readChars, rssBytes, servingPids } from '../support/processes';
import { s3Connections, storageWriter, type BackendContext } from '../support/backends';
import { DEFAULT_MAX_RANGE_BYTES } from '../../core/plan';
import { MEDIA_REQUEST } from '../../support/user-agents';

/** One suite, run against every backend, so that local disk and S3 cannot drift apart. */
describe.each(inject('backends'))('over HTTP with the $kind backend', (backend: BackendContext) => {
  const { url, downloads } = backend;
  const serving = () => servingPids(backend);
  const at = (name: string) => `${url}/api/stream/${encodeURIComponent(name)}`;
  const writer = storageWriter(backend);
  let big: Buffer;

  beforeAll(async () => {
    big = await readFile(join(downloads, BIG_NAME));
  });

  describe('the endpoint', () => {
    it('serves the whole file with the reference headers', async () => {
      const res = await request(at(BIG_NAME));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('video/mp4');
      expect(res.headers['content-length']).toBe(String(BIG_SIZE));
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers.etag).toMatch(/^"[^"]+"$/);
      expect(res.headers['last-modified']).toMatch(/GMT$/);
      expect(res.body.equals(big)).toBe(true);
    });

    it('answers random ranges of a player byte for byte', async () => {
      const spec = fc.oneof(
        fc.tuple(fc.nat({ max: BIG_SIZE + 1000 }), fc.nat({ max: 3_000_000 })).map(([a, n]) => `${a}-${a + n}`),
        fc.nat({ max: BIG_SIZE + 1000 }).map((a) => `${a}-`),
        fc.integer({ min: 1, max: BIG_SIZE + 1000 }).map((n) => `-${n}`),
      );
      for (const range of fc.sample(spec, { numRuns: 40, seed: 20261125 })) {
        const res = await request(at(BIG_NAME), { headers: { ...MEDIA_REQUEST, range: `bytes=${range}` } });
        const m = /^(\d*)-(\d*)$/.exec(range) ?? [];
        const start = m[1] === '' ? Math.max(0, BIG_SIZE - Number(m[2])) : Number(m[1]);
        const asked = m[1] === '' || m[2] === '' ? BIG_SIZE - 1 : Math.min(Number(m[2]), BIG_SIZE - 1);
        // A player's answer is at most one window (MAX_RANGE_BYTES, default 4 MiB).
        const end = Math.min(asked, start + DEFAULT_MAX_RANGE_BYTES - 1);
        if (start >= BIG_SIZE) {
          expect(res.status, range).toBe(416);
          expect(res.headers['content-range']).toBe(`bytes */${BIG_SIZE}`);
          continue;
        }
        expect(res.status, range).toBe(206);
        expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${BIG_SIZE}`);
        expect(res.headers['content-length']).toBe(String(end - start + 1));
        expect(res.body.equals(big.subarray(start, end + 1)), range).toBe(true);
      }
    });

    it('answers several ranges with multipart/byteranges', async () => {
      const res = await request(at(BIG_NAME), { headers: { range: 'bytes=1000-1999, 5000000-5000099, 0-9' } });
      expect(res.status).toBe(206);
      const boundary = /boundary=(\S+)$/.exec(String(res.headers['content-type']))?.[1] ?? '';
      const parts = parseMultipart(res.body, boundary);
      expect(parts.map((p) => p.headers['content-range'])).toEqual([
        `bytes 1000-1999/${BIG_SIZE}`,
        `bytes 5000000-5000099/${BIG_SIZE}`,
        `bytes 0-9/${BIG_SIZE}`,
      ]);
      expect(parts[1]?.body.equals(big.subarray(5_000_000, 5_000_100))).toBe(true);
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
    });

    it('HEAD has the headers of GET and no body', async () => {
      for (const headers of [{}, { range: 'bytes=10-19' }, { range: `bytes=${BIG_SIZE}-` }]) {
        const [get, head] = await Promise.all([request(at(BIG_NAME), { headers }), request(at(BIG_NAME), { method: 'HEAD', headers })]);
        expect(head.status).toBe(get.status);
        const { date: _d1, ...getHeaders } = get.headers;
        const { date: _d2, ...headHeaders } = head.headers;
        expect(headHeaders).toEqual(getHeaders);
        expect(head.body.length).toBe(0);
      }
    });

    it('304 and 412 from validators, in RFC 9110 order', async () => {
      const { headers } = await request(at(SAMPLE_NAME), { method: 'HEAD' });
      const etag = String(headers.etag);
      const lastModified = String(headers['last-modified']);
      const status = async (h: Record<string, string>, method = 'GET') => (await request(at(SAMPLE_NAME), { headers: h, method })).status;
      expect(await status({ 'if-none-match': etag })).toBe(304);
      expect(await status({ 'if-none-match': etag }, 'HEAD')).toBe(304);
      expect(await status({ 'if-none-match': `"nope", ${etag}` })).toBe(304);
      expect(await status({ 'if-modified-since': lastModified })).toBe(304);
      expect(await status({ 'if-match': etag })).toBe(200);
      expect(await status({ 'if-match': '"nope"' })).toBe(412);
      expect(await status({ 'if-match': '"nope"' }, 'HEAD')).toBe(412);
      expect(await status({ 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).toBe(412);
      expect(await status({ 'if-match': '"nope"', 'if-none-match': etag })).toBe(412);
      expect(await status({ 'if-match': etag, 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).toBe(200);
      expect(await status({ 'if-none-match': '"nope"', 'if-modified-since': lastModified })).toBe(200);
      const notModified = await request(at(SAMPLE_NAME), { headers: { 'if-none-match': etag } });
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.body.length).toBe(0);
    });

    it('If-Range: ranges of the current version only; after an overwrite the whole new file', async () => {
      const name = 'Overwritten__1b2c3d4e-0000-4000-8000-00000000000a.mp4';
      await writer.put(name, Buffer.alloc(10_000, 1));
      const first = await request(at(name), { headers: { range: 'bytes=0-99' } });
      const etag = String(first.headers.etag);
      expect((await request(at(name), { headers: { range: 'bytes=100-199', 'if-range': etag } })).status).toBe(206);

      await writer.put(name, Buffer.alloc(10_000, 2));
      const resumed = await request(at(name), { headers: { range: 'bytes=100-199', 'if-range': etag } });
      expect(resumed.status).toBe(200);
      expect(resumed.headers.etag).not.toBe(etag);
      expect(resumed.body.equals(Buffer.alloc(10_000, 2))).toBe(true);
      const byDate = await request(at(name), { headers: { range: 'bytes=0-0', 'if-range': 'Thu, 01 Jan 1970 00:00:00 GMT' } });
      expect([byDate.status, byDate.body.length]).toEqual([200, 10_000]);
      await writer.remove(name);
    });

    it('404 with the JSON body of the reference page', async () => {
      for (const method of ['GET', 'HEAD']) {
        const res = await request(at('Missing__00000000-0000-0000-0000-000000000000.mp4'), { method });
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toBe('application/json');
        if (method === 'GET') expect(JSON.parse(res.body.toString())).toEqual({ detail: 'Archivo no encontrado' });
      }
    });

    it('serves Unicode names with spaces', async () => {
      const res = await request(at(UNICODE_NAME), { headers: { range: 'bytes=0-99' } });
      expect(res.status).toBe(206);
      expect(res.body.equals(readFileSync(join(downloads, SAMPLE_NAME)).subarray(0, 100))).toBe(true);
    });

    it('an empty file: 200 with no bytes, 416 for a byte range, 200 for a suffix', async () => {
      const whole = await request(at(EMPTY_NAME));
      expect([whole.status, whole.headers['content-length'], whole.body.length]).toEqual([200, '0', 0]);
      const ranged = await request(at(EMPTY_NAME), { headers: { range: 'bytes=0-' } });
      expect([ranged.status, ranged.headers['content-range']]).toEqual([416, 'bytes */0']);
      const suffix = await request(at(EMPTY_NAME), { headers: { range: 'bytes=-10' } });
      expect([suffix.status, suffix.headers['content-length'], suffix.body.length]).toEqual([200, '0', 0]);
    });

    it('405 with Allow for other methods', async () => {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const res = await request(at(SAMPLE_NAME), { method });
        expect(res.status, method).toBe(405);
        expect(res.headers.allow).toBe('GET, HEAD');
      }
    });
  });

  describe('streaming and resources', () => {
    /** Descriptors the serving processes hold under the downloads, once none is left (waits at most 5 s). */
    const openFilesOnceSettled = async () => {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && fdsUnder(downloads, serving()).length > 0) await sleep(100);
      return fdsUnder(downloads, serving()).length;
    };

    it('sends the first bytes before reading the file to the end, and holds memory flat', async () => {
      const name = 'Huge__00000000-0000-4000-8000-0000000000ff.mp4';
      const size = backend.kind === 'local' ? 512 * 1024 * 1024 : 128 * 1024 * 1024;
      if (backend.kind === 'local') {
        await writeFile(join(downloads, name), '');
        await truncate(join(downloads, name), size);
      } else {
        await writer.put(name, Buffer.alloc(size, 3));
      }
      // 120 MiB from 1 MiB on: within MAX_RESPONSE_BYTES (so streamed, not a 413 or a redirect), and
      // not shortened (a client that is not a player gets the whole range it asks for).
      const [start, end] = [1024 * 1024, 121 * 1024 * 1024 - 1];
      const readBefore = readChars(serving());
      const rssBefore = rssBytes(serving());
      const held = await new Promise<{ status: number | undefined; headers: Record<string, unknown>; read: number; rss: number }>((resolve, reject) => {
        const req = httpRequest(at(name), { agent: false, headers: { range: `bytes=${start}-${end}` } }, (res) => {
          res.once('data', () => {
            res.pause();
            // Long enough for a server without backpressure to have read much of the window.
            setTimeout(() => {
              // Bytes the serving processes read (file or socket) while the client held back.
              resolve({ status: res.statusCode, headers: res.headers, read: readChars(serving()) - readBefore, rss: rssBytes(serving()) - rssBefore });
              req.destroy();
            }, 1500);
          });
        });
        req.on('error', reject);
        req.end();
      });
      expect([held.status, held.headers['content-range'], held.headers['content-length']]).toEqual([206, `bytes ${start}-${end}/${size}`, String(end - start + 1)]);
      expect(held.read).toBeLessThan(48 * 1024 * 1024);
      expect(held.rss).toBeLessThan(48 * 1024 * 1024);
      // The client is gone: the file must be closed once the server notices (under aws-lambda-ric
      // the runtime process finds out a little later), and before the next test counts descriptors.
      expect(await openFilesOnceSettled()).toBe(0);
      await writer.remove(name);
    });

    it('100 clients that go away mid-stream leave no file descriptors or storage requests behind', async () => {
      await request(at(SAMPLE_NAME), { method: 'HEAD' });
      const filesBefore = await openFilesOnceSettled();
      const socketsBefore = socketCount(serving());
      const abortOne = (i: number) =>
        new Promise<void>((resolve) => {
          const req = httpRequest(at(BIG_NAME), { agent: false, headers: i % 2 === 0 ? {} : { range: `bytes=${i * 1000}-` } }, (res) => {
            res.once('data', () => req.destroy());
          });
          req.on('error', () => undefined);
          req.on('close', () => resolve());
          req.end();
        });
      for (let batch = 0; batch < 10; batch += 1) await Promise.all(Array.from({ length: 10 }, (_, i) => abortOne(batch * 10 + i)));

      const settled = async () => {
        if (fdsUnder(downloads, serving()).length > filesBefore) return false;
        if (backend.kind === 'local') return socketCount(serving()) <= socketsBefore;
        return (await s3Connections(backend)).inFlight === 0;
      };
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !(await settled())) await sleep(100);
      expect(fdsUnder(downloads, serving()).length).toBe(filesBefore);
      if (backend.kind === 'local') {
        expect(socketCount(serving())).toBeLessThanOrEqual(socketsBefore);
      } else {
        // Every S3 body was read to the end or destroyed; idle keep-alive sockets stay pooled.
        const connections = await s3Connections(backend);
        expect(connections.inFlight).toBe(0);
        expect(connections.open).toBeLessThanOrEqual(50);
      }
      const after = await request(at(BIG_NAME), { headers: { range: 'bytes=100-199' } });
      expect(after.status).toBe(206);
      expect(after.body.equals(big.subarray(100, 200))).toBe(true);
    });
  });
});
