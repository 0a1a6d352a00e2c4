import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { request } from '../support/client';
import { storageWriter, type BackendContext } from '../support/backends';
import { rssBytes, servingPids } from '../support/processes';
import { DEFAULT_MAX_RANGE_BYTES } from '../../core/plan';
import { MEDIA_REQUEST } from '../../support/user-agents';
import { seededRandom } from '../support/random';

const MiB = 1024 * 1024;
const NAME = 'Load_Test__0c6d1f5e-256m.mp4';
const SIZE = 256 * MiB;
const CLIENTS = 200;
/**
 * The ranges are random, from a seed printed with the results: LOAD_SEED=<seed> replays a run's
 * ranges (`LOAD_SEED=123 npx vitest run --project http test/integration/load.test.ts`).
 */
const SEED = process.env.LOAD_SEED ? Number(process.env.LOAD_SEED) : Math.floor(Math.random() * 2 ** 32);
if (!Number.isSafeInteger(SEED) || SEED < 0) throw new Error(`LOAD_SEED must be a whole number, not ${process.env.LOAD_SEED}`);

/** A random Range a player or a download manager might send: closed, open-ended, or a suffix. */
function randomRange(random: () => number): { header: string; start: number; end: number } {
  const kind = Math.floor(random() * 3);
  const start = Math.floor(random() * SIZE);
  const length = 1 + Math.floor(random() * 2 * MiB);
  if (kind === 0) return { header: `bytes=${start}-${start + length - 1}`, start, end: Math.min(start + length - 1, SIZE - 1) };
  if (kind === 1) return { header: `bytes=${start}-`, start, end: SIZE - 1 };
  return { header: `bytes=-${length}`, start: SIZE - length, end: SIZE - 1 };
}

describe.each(inject('loadBackends'))('under load, with the $kind backend', (backend: BackendContext) => {
  const writer = storageWriter(backend);
  let data: Buffer;

  beforeAll(async () => {
    data = randomBytes(SIZE);
    await writer.put(NAME, data);
  }, 180_000);
  afterAll(async () => {
    await writer.remove(NAME);
  });

  it(`${CLIENTS} concurrent random windows of a 256 MiB file: every body byte for byte, memory bounded`, async () => {
    // The server, and under LAMBDA_RUNTIME=ric its runtime processes, together.
    const before = rssBytes(servingPids(backend));
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(servingPids(backend)));
    }, 10);
    // The same ranges for each backend; printed before the requests, so that a hang can be replayed too.
    const random = seededRandom(SEED);
    const ranges = Array.from({ length: CLIENTS }, () => randomRange(random));
    console.info(`${backend.kind}: ${CLIENTS} random ranges from LOAD_SEED=${SEED}`);
    const started = performance.now();
    let answers;
    try {
      answers = await Promise.all(ranges.map((range) => request(`${backend.url}/api/stream/${NAME}`, { headers: { ...MEDIA_REQUEST, range: range.header } })));
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    let bytes = 0;
    answers.forEach((res, i) => {
      const range = ranges[i]!;
      const label = `${range.header} (LOAD_SEED=${SEED})`;
      expect(res.status, label).toBe(206);
      // The answer starts where asked and ends where asked, or earlier at the window's edge.
      const sent = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'] ?? '');
      const [start, end, size] = [Number(sent?.[1]), Number(sent?.[2]), Number(sent?.[3])];
      expect([start, size], label).toEqual([range.start, SIZE]);
      expect(end, label).toBe(Math.min(range.end, range.start + DEFAULT_MAX_RANGE_BYTES - 1));
      expect(res.body.equals(data.subarray(start, end + 1)), label).toBe(true);
      bytes += res.body.length;
    });
    const growth = peak - before;
    console.info(
      `${backend.kind}: ${CLIENTS} concurrent ranges, ${(bytes / MiB).toFixed(0)} MiB in ${seconds.toFixed(2)} s; ` +
        `server RSS ${(before / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB (+${(growth / 1e6).toFixed(0)} MB)`,
    );
    // Buffering whole windows would need about the bytes sent (hundreds of MB); streaming with
    // backpressure holds a few 64 KiB chunks per response.
    expect(growth).toBeLessThan(Math.min(bytes / 2, 160 * 1e6));
    // And the server still answers.
    const next = await request(`${backend.url}/api/stream/${NAME}`, { headers: { range: 'bytes=0-9' } });
    expect(next.body.equals(data.subarray(0, 10))).toBe(true);
  }, 180_000);
});
