import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SERVE_OPTIONS, serveStream } from '../../core/serve';
import { createS3Storage } from '../../storage/s3';
import type { Storage } from '../../storage/types';
import { collect } from '../support/http';

/**
 * The body of a ranged GetObject goes to the response without the core's byte-counting stage when
 * Node's HTTP client already holds it to the window (storage/s3.ts heldToWindow): over real HTTP,
 * which a mock cannot show. What S3 answers is played by a small server that can lie.
 */

const SIZE = 300_000;
const DATA = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7) % 256));
const ETAG = '"0123456789abcdef0123456789abcdef"';

/** How the fake S3 answers a range: truthfully, cut short mid-body, or with a Content-Length that is not the range's. */
let mode: 'honest' | 'cut' | 'short-length' = 'honest';
let server: Server;
let storage: Storage;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const [, first = '0', last = String(SIZE - 1)] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? [];
    const start = Number(first);
    const end = Math.min(Number(last), SIZE - 1);
    const bytes = DATA.subarray(start, end + 1);
    const length = mode === 'short-length' ? bytes.length - 10 : bytes.length;
    res.writeHead(206, {
      'content-length': String(length),
      'content-range': `bytes ${start}-${end}/${SIZE}`,
      etag: ETAG,
      'last-modified': new Date(Date.UTC(2026, 0, 2)).toUTCString(),
      'content-type': 'video/mp4',
    });
    if (mode === 'cut') {
      res.write(bytes.subarray(0, 100_000), () => res.socket?.destroy());
      return;
    }
    res.end(bytes.subarray(0, length));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  storage = await createS3Storage({ client, bucket: 'videos', prefix: '', accessDenied: 'missing' });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const get = (range: string) =>
  serveStream({ method: 'GET', rawPath: '/api/stream/clip__1.mp4', rawQuery: '', headers: { range } }, storage, { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined });

describe('the prefetched S3 body', () => {
  it('goes out as the SDK gave it when its Content-Length is the window, in chunks of at most 64 KiB', async () => {
    mode = 'honest';
    const res = await get('bytes=1000-250999');
    expect(res.status).toBe(206);
    expect(res.body).toBeInstanceOf(IncomingMessage);
    const sizes: number[] = [];
    const chunks: Buffer[] = [];
    await new Promise((resolve, reject) =>
      (res.body as Readable)
        .on('data', (chunk: Buffer) => {
          sizes.push(chunk.length);
          chunks.push(chunk);
        })
        .once('end', resolve)
        .once('error', reject),
    );
    expect(Buffer.concat(chunks).equals(DATA.subarray(1000, 251_000))).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(65_536);
  });

  it('fails, never ends, when the connection ends before the window', async () => {
    mode = 'cut';
    const res = await get('bytes=0-249999');
    expect(res.body).toBeInstanceOf(IncomingMessage);
    await expect(collect(res.body)).rejects.toThrow(/aborted/);
  });

  it('is counted by the core when its Content-Length is not the window', async () => {
    mode = 'short-length';
    const res = await get('bytes=0-249999');
    expect(res.body).not.toBeInstanceOf(IncomingMessage);
    await expect(collect(res.body)).rejects.toThrow('storage ended after 249990 of 250000 bytes');
  });
});
