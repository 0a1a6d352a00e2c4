import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { serveStream, DEFAULT_SERVE_OPTIONS, type ServeOptions } from '../../core/serve';
import type { Storage } from '../../storage/types';
import { memoryStorage } from '../support/memory-storage';
import { collect } from '../support/http';
import { corsPolicyOf } from '../../core/cors';
import { MEDIA_REQUEST } from '../../support/user-agents';

const file = Buffer.from('0123456789'.repeat(100));
const quiet: ServeOptions = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined };
const request = (rawPath: string, method = 'GET', headers: Record<string, string> = {}) => ({ method, rawPath, rawQuery: '', headers });

describe('serveStream', () => {
  it('streams the file with the plan of the core', async () => {
    const { storage, stats } = memoryStorage({ 'a__1.mp4': file });
    const res = await serveStream(request('/api/stream/a__1.mp4', 'GET', { range: 'bytes=10-19' }), storage, quiet);
    expect(res.status).toBe(206);
    expect((await collect(res.body)).toString()).toBe('0123456789');
    expect(stats).toMatchObject({ opens: 1, closes: 1, reads: 1, bytesRead: 10 });
  });

  it('names every request header a windowed answer depends on, CORS\u2019s Origin included, in one Vary', async () => {
    const { storage } = memoryStorage({ 'a__1.mp4': file });
    const options: ServeOptions = { ...quiet, maxRangeBytes: 100, cors: corsPolicyOf('https://player.example') };
    const headers = { ...MEDIA_REQUEST, origin: 'https://player.example', range: 'bytes=0-' };
    const res = await serveStream(request('/api/stream/a__1.mp4', 'GET', headers), storage, options);
    expect([res.status, res.headers['content-range'], res.headers.vary]).toEqual([206, 'bytes 0-99/1000', 'Sec-Fetch-Dest, User-Agent, Origin']);
    expect(res.note).toEqual({ client: { engine: 'chromium', media: true }, window: 'shortened' });
    await collect(res.body);
    const plain = await serveStream(request('/api/stream/a__1.mp4', 'GET', { range: 'bytes=0-' }), storage, options);
    expect([plain.headers['content-range'], plain.headers.vary, plain.note?.window]).toEqual(['bytes 0-999/1000', 'Sec-Fetch-Dest, User-Agent, Origin', 'not media']);
    await collect(plain.body);
  });

  it('404 with the JSON body of the reference page for a missing file', async () => {
    const { storage } = memoryStorage({});
    const res = await serveStream(request('/api/stream/nope__1.mp4'), storage, quiet);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse((await collect(res.body)).toString())).toEqual({ detail: 'Archivo no encontrado' });
  });

  it('refuses bad names, other methods and other paths without touching storage', async () => {
    const { storage, stats } = memoryStorage({ 'a__1.mp4': file });
    const cases: Array<[string, string, number]> = [
      ['/api/stream/..%2fa__1.mp4', 'GET', 400],
      ['/api/stream/.hidden', 'HEAD', 400],
      ['/api/stream/a__1.mp4', 'POST', 405],
      ['/api/stream/a__1.mp4', 'DELETE', 405],
      ['/api/stream/a__1.mp4', 'OPTIONS', 405],
      ['/api/other/a__1.mp4', 'GET', 404],
      ['/', 'GET', 404],
    ];
    for (const [path, method, status] of cases) {
      const res = await serveStream(request(path, method), storage, quiet);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers['content-type']).toBe('application/json');
      if (method === 'HEAD') {
        // The refusal's headers, as a GET would get them, and no body.
        expect([res.body, Number(res.headers['content-length'])]).toEqual([undefined, expect.any(Number)]);
      } else {
        const body = JSON.parse((await collect(res.body)).toString()) as { detail: string };
        expect(typeof body.detail).toBe('string');
      }
      if (status === 405) expect(res.headers.allow).toBe('GET, HEAD');
    }
    expect(stats.opens).toBe(0);
  });

  it('abusive Range headers never cost more storage reading than the file once', async () => {
    const big = Buffer.alloc(100_000, 7);
    const headers = [
      `bytes=${Array.from({ length: 500 }, (_, i) => `${i}-${i + 1}`).join(',')}`,
      `bytes=${Array.from({ length: 500 }, (_, i) => `${i * 150}-${i * 150}`).join(',')}`,
      `bytes=${Array.from({ length: 300 }, () => '0-').join(',')}`,
      `bytes=${Array.from({ length: 300 }, () => '-100000').join(',')}`,
      `bytes=${Array.from({ length: 300 }, (_, i) => `${i * 300}-${i * 300 + 299}`).join(',')}`,
      `bytes=0-49999,50000-99999,${Array.from({ length: 200 }, (_, i) => `${i}-${99_999 - i}`).join(',')}`,
    ];
    for (const range of headers) {
      const { storage, stats } = memoryStorage({ 'a__1.mp4': big });
      const res = await serveStream(request('/api/stream/a__1.mp4', 'GET', { range }), storage, quiet);
      const body = await collect(res.body);
      expect([200, 206]).toContain(res.status);
      expect(stats.bytesRead, range.slice(0, 40)).toBeLessThanOrEqual(big.length);
      expect(stats.reads).toBeLessThanOrEqual(DEFAULT_SERVE_OPTIONS.maxParts);
      expect(body.length).toBeLessThanOrEqual(big.length);
    }
  });

  it('HEAD opens and closes the file but reads nothing', async () => {
    const { storage, stats } = memoryStorage({ 'a__1.mp4': file });
    const res = await serveStream(request('/api/stream/a__1.mp4', 'head'), storage, quiet);
    expect([res.status, res.headers['content-length'], res.body]).toEqual([200, '1000', undefined]);
    expect(stats).toMatchObject({ opens: 1, closes: 1, reads: 0 });
  });

  it('a storage fault is a 500 with a generic detail, logged but never shown', async () => {
    const logged: unknown[] = [];
    const broken: Storage = {
      open: () => Promise.reject(Object.assign(new Error('EIO: i/o error, open /secret/path'), { code: 'EIO' })),
    };
    const res = await serveStream(request('/api/stream/a__1.mp4'), broken, { ...quiet, logError: (_m, e) => logged.push(e) });
    const text = (await collect(res.body)).toString();
    expect(res.status).toBe(500);
    expect(text).toBe('{"detail":"Internal Server Error"}');
    expect(logged).toHaveLength(1);
  });

  it('fails the body instead of ending it short when storage sends too few bytes', async () => {
    const shortStorage: Storage = {
      async open() {
        return {
          status: 'found',
          object: {
            meta: { size: 100, etag: '"x"', lastModified: 0 },
            read: () => Readable.from([Buffer.alloc(60)]),
            close: async () => undefined,
          },
        };
      },
    };
    const res = await serveStream(request('/api/stream/a__1.mp4'), shortStorage, quiet);
    await expect(collect(res.body)).rejects.toThrow('storage ended after 60 of 100 bytes');
  });

  it('closes the file when the client abandons a multipart body half way', async () => {
    const { storage, stats } = memoryStorage({ 'a__1.mp4': file });
    const res = await serveStream(request('/api/stream/a__1.mp4', 'GET', { range: 'bytes=0-9,500-509' }), storage, quiet);
    expect(res.status).toBe(206);
    const body = res.body as Readable;
    await new Promise<void>((resolve) => body.once('readable', () => resolve()));
    body.destroy();
    await new Promise((resolve) => body.once('close', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stats.closes).toBe(1);
  });
});

describe('body chunks', () => {
  it('are at most 64 KiB, whatever size storage delivers them in', async () => {
    const data = Buffer.from(Array.from({ length: 300_001 }, (_, i) => i % 253));
    const oneBigChunk: Storage = {
      async open() {
        return {
          status: 'found',
          object: {
            meta: { size: data.length, etag: '"x"', lastModified: 0 },
            read: (w) => Readable.from([data.subarray(w.start, w.end + 1)], { objectMode: false }),
            close: async () => undefined,
          },
        };
      },
    };
    const res = await serveStream(request('/api/stream/a__1.mp4'), oneBigChunk, quiet);
    // 'data' events, as pipe() and pipeline() see them (an async iterator may join chunks).
    const chunks: Buffer[] = [];
    await new Promise((resolve, reject) => {
      (res.body as Readable).on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', resolve).on('error', reject);
    });
    const sizes = chunks.map((c) => c.length);
    expect(sizes).toEqual([65_536, 65_536, 65_536, 65_536, 300_001 - 4 * 65_536]);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });
});
