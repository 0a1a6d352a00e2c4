import { randomWindow } from './data';
import { RawConnection, type Exchange } from './raw-http';
import { percentile } from './stats';

/**
 * Bounded HTTP loads for 127.0.0.1 over RawConnection (see raw-http.ts for why not node:http).
 * Every function checks status and byte counts, so that a server answering fast but wrong fails the
 * run instead of winning it.
 */

function target(url: string): { origin: URL; path: string } {
  const origin = new URL(url);
  return { origin, path: `${origin.pathname}${origin.search}` };
}

/** One request on a connection of its own. */
async function once(url: string, options: { headers?: Record<string, string>; timeoutMs: number; stopAfter?: number }): Promise<Exchange> {
  const { origin, path } = target(url);
  const connection = new RawConnection(origin);
  try {
    return await connection.get(path, { ...options, close: true });
  } finally {
    connection.destroy();
  }
}

/** (a) One client downloads the whole file on a new connection: MB/s (10^6 bytes/s). */
export async function downloadWhole(url: string, size: number, timeoutMs: number): Promise<number> {
  const result = await once(url, { timeoutMs });
  if (result.status !== 200 || result.bytes !== size) throw new Error(`GET ${url}: ${result.status}, ${result.bytes} of ${size} bytes`);
  return size / 1e6 / (result.totalMs / 1000);
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
}

/**
 * (b) `connections` keep-alive clients, each asking for random `rangeSize` ranges one after the
 * other for `seconds`: completed requests per second and latency (request to last body byte).
 */
export async function randomRangeLoad(url: string, size: number, rangeSize: number, connections: number, seconds: number, timeoutMs: number): Promise<LoadResult> {
  const { origin, path } = target(url);
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const maxRequests = 10_000_000;
  let completed = 0;
  const open: RawConnection[] = [];
  try {
    const worker = async () => {
      let connection: RawConnection | undefined;
      while (performance.now() < deadline && completed < maxRequests) {
        if (connection === undefined || !connection.usable) {
          connection = new RawConnection(origin);
          open.push(connection);
        }
        const { start, end } = randomWindow(size, rangeSize);
        const result = await connection.get(path, { headers: { range: `bytes=${start}-${end}` }, timeoutMs });
        const contentRange = result.headers.get('content-range');
        if (result.status !== 206 || result.bytes !== rangeSize || contentRange !== `bytes ${start}-${end}/${size}`) {
          throw new Error(`GET ${url} bytes=${start}-${end}: ${result.status} ${contentRange}, ${result.bytes} bytes`);
        }
        latencies.push(result.totalMs);
        completed++;
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    for (const connection of open) connection.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  return { requestsPerSecond: completed / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), requests: completed };
}

export interface TtfbResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** (c) Sequential `bytes=0-1` requests on one keep-alive connection: time to the end of the response head. */
export async function timeToFirstByte(url: string, size: number, requests: number, warmup: number, timeoutMs: number): Promise<TtfbResult> {
  const { origin, path } = target(url);
  const times: number[] = [];
  let connection = new RawConnection(origin);
  try {
    for (let i = 0; i < warmup + requests; i++) {
      if (!connection.usable) connection = new RawConnection(origin);
      const result = await connection.get(path, { headers: { range: 'bytes=0-1' }, timeoutMs });
      const contentRange = result.headers.get('content-range');
      if (result.status !== 206 || result.bytes !== 2 || contentRange !== `bytes 0-1/${size}`) {
        throw new Error(`GET ${url} bytes=0-1: ${result.status} ${contentRange}, ${result.bytes} bytes`);
      }
      if (i >= warmup) times.push(result.headMs);
    }
  } finally {
    connection.destroy();
  }
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

/** Memory load: `clients` download the whole file at once, each on its own connection. */
export async function manyWhole(url: string, size: number, clients: number, timeoutMs: number): Promise<void> {
  const results = await Promise.all(Array.from({ length: clients }, () => once(url, { timeoutMs })));
  const bad = results.find((r) => r.status !== 200 || r.bytes !== size);
  if (bad) throw new Error(`GET ${url}: ${bad.status}, ${bad.bytes} of ${size} bytes`);
}

/** Memory load: `clients` start the whole file at once and hang up after `abortAfter` bytes each. */
export async function manyAbort(url: string, size: number, clients: number, abortAfter: number, timeoutMs: number): Promise<void> {
  const results = await Promise.all(Array.from({ length: clients }, () => once(url, { timeoutMs, stopAfter: abortAfter })));
  const bad = results.find((r) => r.status !== 200 || r.bytes < Math.min(abortAfter, size));
  if (bad) throw new Error(`GET ${url} (aborted): ${bad.status}, ${bad.bytes} bytes`);
}
