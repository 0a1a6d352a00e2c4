import { afterEach, describe, expect, inject, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIG_NAME } from '../support/fixtures';
import { SAMPLE_NAME } from '../support/paths';
import { request } from '../support/client';
import { injectFault, resetS3Requests, s3Requests, settledS3Connections } from '../support/backends';
import { openFds, socketCount } from '../support/fds';
import { servingPids } from '../support/processes';
import type { Fault } from '../../support/s3-proxy';

/**
 * Faults of the storage, on the wire: a proxy between the function and the S3 server throttles,
 * fails, refuses, stalls or cuts, and the function must retry, answer 502/503 in bounded time,
 * never present a short body as complete, and leak nothing. This server uses 1 s timeouts to first
 * byte (3 attempts) and a 2 s idle timeout (FAULT_TIMEOUTS).
 */
const backend = inject('faulty');
const at = (name: string) => `${backend.url}/api/stream/${encodeURIComponent(name)}`;
const key = (name: string) => `/${backend.s3?.bucket}/${backend.s3?.prefix}${name}`;
const sample = readFileSync(join(backend.downloads, SAMPLE_NAME));

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

async function withFault(fault: Fault) {
  await resetS3Requests(backend);
  await injectFault(backend, fault);
}

afterEach(async () => {
  await injectFault(backend, { mode: 'none' });
  // After every fault: no S3 request left open, descriptors and sockets back to normal, and the
  // next request is answered correctly.
  const connections = await settledS3Connections(backend);
  expect(connections.inFlight).toBe(0);
  expect(connections.open).toBeLessThanOrEqual(50);
  expect(socketCount(servingPids(backend))).toBeLessThanOrEqual(60);
  expect(openFds(servingPids(backend)).filter((fd) => fd.startsWith(backend.downloads))).toEqual([]);
  const next = await request(at(SAMPLE_NAME), { headers: { range: 'bytes=0-99' } });
  expect(next.status).toBe(206);
  expect(next.body.equals(sample.subarray(0, 100))).toBe(true);
});

describe('storage faults, survived', () => {
  it('throttling (503 SlowDown) twice: retried with backoff, then served', async () => {
    await withFault({ mode: 'slowdown', count: 2 });
    const res = await request(at(SAMPLE_NAME), { headers: { range: 'bytes=10-19' } });
    expect([res.status, res.body.equals(sample.subarray(10, 20))]).toEqual([206, true]);
    expect((await s3Requests(backend)).length).toBe(3);
  });

  it('500 InternalError twice: retried, then served', async () => {
    await withFault({ mode: 'internal-error', count: 2 });
    const res = await request(at(SAMPLE_NAME));
    expect([res.status, res.body.equals(sample)]).toEqual([200, true]);
    expect((await s3Requests(backend)).length).toBe(3);
  });

  it('throttling that does not stop: 503 with Retry-After and a JSON detail, after 3 attempts', async () => {
    await withFault({ mode: 'slowdown' });
    const { result, ms } = await timed(() => request(at(SAMPLE_NAME)));
    expect(result.status).toBe(503);
    expect(result.headers['retry-after']).toBe('1');
    expect(JSON.parse(result.body.toString())).toEqual({ detail: 'Almacenamiento no disponible' });
    expect((await s3Requests(backend)).length).toBe(3);
    expect(ms).toBeLessThan(10_000);
  });

  it('a storage that keeps failing: 502, no SDK text', async () => {
    await withFault({ mode: 'internal-error' });
    const res = await request(at(SAMPLE_NAME));
    expect(res.status).toBe(502);
    expect(res.body.toString()).toBe('{"detail":"Almacenamiento no disponible"}');
  });

  it('a storage that refuses connections: 502 in bounded time', async () => {
    await withFault({ mode: 'refuse' });
    const { result, ms } = await timed(() => request(at(SAMPLE_NAME)));
    expect(result.status).toBe(502);
    expect(ms).toBeLessThan(10_000);
  });

  it('a storage that never answers: 503 within the timeouts (3 attempts of 1 s), never a hang', async () => {
    await withFault({ mode: 'stall' });
    const { result, ms } = await timed(() => request(at(SAMPLE_NAME)));
    expect(result.status).toBe(503);
    expect((await s3Requests(backend)).length).toBe(3);
    expect(ms).toBeGreaterThan(2_500);
    expect(ms).toBeLessThan(10_000);
  });

  it('a slow storage within the timeouts is just slow: one request, waited for', async () => {
    await withFault({ mode: 'delay', delayMs: 600, count: 1 });
    const { result: res, ms } = await timed(() => request(at(SAMPLE_NAME), { headers: { range: 'bytes=0-9' } }));
    expect([res.status, res.body.equals(sample.subarray(0, 10))]).toEqual([206, true]);
    expect(await s3Requests(backend)).toEqual([{ method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=0-9' }]);
    expect(ms).toBeGreaterThanOrEqual(600);
  });

  it('a first answer slower than the timeout (1 s): that attempt is given up, and the retry serves', async () => {
    await withFault({ mode: 'delay', delayMs: 3000, count: 1 });
    const { result: res, ms } = await timed(() => request(at(SAMPLE_NAME), { headers: { range: 'bytes=0-9' } }));
    expect([res.status, res.body.equals(sample.subarray(0, 10))]).toEqual([206, true]);
    const attempt = { method: 'GET', path: key(SAMPLE_NAME), range: 'bytes=0-9' };
    expect(await s3Requests(backend)).toEqual([attempt, attempt]);
    // Given up at the 1 s to first byte (and the SDK's backoff, at most 200 ms), not later at the
    // 2 s idle timeout (S3_SOCKET_TIMEOUT_MS), nor by waiting for the delayed answer.
    expect(ms).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(1800);
  });

  it('a connection cut mid-body ends the client\u2019s response as truncated, never as complete', async () => {
    await withFault({ mode: 'cut', bytes: 100_000, count: 1 });
    const outcome = await new Promise<{ received: number; complete: boolean; error: string }>((resolve) => {
      let received = 0;
      const req = httpRequest(at(BIG_NAME), { agent: false, headers: { range: 'bytes=0-999999' } }, (res) => {
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('end', () => resolve({ received, complete: res.complete, error: '' }));
        res.on('error', (error) => resolve({ received, complete: res.complete, error: error.message }));
      });
      req.on('error', (error) => resolve({ received, complete: false, error: error.message }));
      req.end();
    });
    expect(outcome.received).toBeLessThan(1_000_000);
    expect(outcome.complete).toBe(false);
  });

  it('a body that stops flowing mid-way is cut after the idle timeout (2 s), freeing the socket', async () => {
    // S3 sends 100 KB of the body, then neither sends more nor closes.
    await withFault({ mode: 'hang', bytes: 100_000, count: 1 });
    const started = performance.now();
    const outcome = await new Promise<{ received: number; complete: boolean }>((resolve) => {
      let received = 0;
      const req = httpRequest(at(BIG_NAME), { agent: false, headers: { range: 'bytes=0-999999' } }, (res) => {
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('end', () => resolve({ received, complete: res.complete }));
        res.on('error', () => resolve({ received, complete: res.complete }));
      });
      req.on('error', () => resolve({ received, complete: false }));
      req.end();
    });
    const ms = performance.now() - started;
    expect(outcome.complete).toBe(false);
    expect(outcome.received).toBeLessThan(1_000_000);
    expect(ms).toBeGreaterThan(1_500);
    expect(ms).toBeLessThan(10_000);
  });
});
