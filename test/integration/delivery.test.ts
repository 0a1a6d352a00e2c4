import { describe, expect, inject, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIG_NAME, BIG_SIZE } from '../support/fixtures';
import { SAMPLE_NAME } from '../support/paths';
import { request } from '../support/client';
import { resetS3Requests, s3Requests, settledS3Connections, type BackendContext } from '../support/backends';
import { MEDIA_REQUEST, USER_AGENTS } from '../../support/user-agents';

const WINDOW = 256 * 1024;

/** Response windows and per-response limits, on servers started with 256 KiB windows and 8 MiB responses. */
describe.each(inject('tightBackends'))('Lambda-aware delivery with the $kind backend', (backend: BackendContext) => {
  const at = (name: string, query = '') => `${backend.url}/api/stream/${encodeURIComponent(name)}${query}`;

  it('answers a player\u2019s open and oversized ranges with one window, saying exactly what was sent', async () => {
    const big = await readFile(join(backend.downloads, BIG_NAME));
    for (const [range, start] of [
      ['bytes=0-', 0],
      ['bytes=1000000-9999999', 1_000_000],
      [`bytes=-${BIG_SIZE}`, 0],
      ['bytes=-1000000', BIG_SIZE - 1_000_000],
    ] as const) {
      const res = await request(at(BIG_NAME), { headers: { ...MEDIA_REQUEST, range } });
      expect(res.status, range).toBe(206);
      expect(res.headers['content-range'], range).toBe(`bytes ${start}-${start + WINDOW - 1}/${BIG_SIZE}`);
      expect(res.headers.vary, range).toBe('Sec-Fetch-Dest, User-Agent');
      expect(res.body.equals(big.subarray(start, start + WINDOW)), range).toBe(true);
    }
    const short = await request(at(BIG_NAME), { headers: { ...MEDIA_REQUEST, range: `bytes=${BIG_SIZE - 10}-` } });
    expect(short.headers['content-range']).toBe(`bytes ${BIG_SIZE - 10}-${BIG_SIZE - 1}/${BIG_SIZE}`);
    // A range within one window is the same for every client: nothing for caches to tell apart.
    expect(short.headers.vary).toBeUndefined();
  });

  it('answers every other client with the whole range it asked for, within the response limit', async () => {
    const big = await readFile(join(backend.downloads, BIG_NAME));
    const start = BIG_SIZE - 3_000_000;
    for (const client of [{}, { 'user-agent': USER_AGENTS.curl }, { 'sec-fetch-dest': 'video', 'user-agent': USER_AGENTS.safari }, { 'user-agent': USER_AGENTS.chrome }]) {
      const res = await request(at(BIG_NAME), { headers: { ...client, range: `bytes=${start}-` } });
      expect([res.status, res.headers['content-range']], JSON.stringify(client)).toEqual([206, `bytes ${start}-${BIG_SIZE - 1}/${BIG_SIZE}`]);
      expect(res.headers.vary).toBe('Sec-Fetch-Dest, User-Agent');
      expect(res.body.equals(big.subarray(start)), JSON.stringify(client)).toBe(true);
    }
  });

  it('never shortens a download (?download=1), and names the file', async () => {
    const res = await request(at(SAMPLE_NAME, '?download=1'), { headers: { range: 'bytes=1000-' } });
    const sample = await readFile(join(backend.downloads, SAMPLE_NAME));
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 1000-${sample.length - 1}/${sample.length}`);
    expect(res.headers['content-disposition']).toBe('attachment; filename=Sample_Test_Pattern.mp4');
    expect(res.body.equals(sample.subarray(1000))).toBe(true);
  });

  if (backend.kind === 'local') {
    it('refuses what is too large for one response, telling the client to use ranges (no presigning on disk)', async () => {
      const res = await request(at(BIG_NAME));
      expect(res.status).toBe(413);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(JSON.parse(res.body.toString()).detail).toMatch(/Range/);
      expect((await request(at(BIG_NAME, '?download=1'), { headers: { range: 'bytes=0-' } })).status).toBe(413);
    });
  } else {
    it('sends what is too large for one response to S3 with a presigned URL that keeps type and name', async () => {
      const res = await request(at(BIG_NAME, '?download=1'));
      expect(res.status).toBe(307);
      expect(res.headers['cache-control']).toBe('no-store');
      const location = String(res.headers.location);
      expect(location).toMatch(/X-Amz-Signature=/);
      expect(location).toMatch(/X-Amz-Expires=300/);
      const big = await readFile(join(backend.downloads, BIG_NAME));
      const direct = await request(location);
      expect(direct.status).toBe(200);
      expect(direct.headers['content-type']).toBe('video/mp4');
      expect(direct.headers['content-disposition']).toMatch(/^attachment; filename=Big_Random\.mp4/);
      expect(direct.body.equals(big)).toBe(true);
      // A client that follows the redirect with its Range gets it from S3.
      const ranged = await request(location, { headers: { range: 'bytes=100-199' } });
      expect([ranged.status, ranged.body.equals(big.subarray(100, 200))]).toEqual([206, true]);
      // HEAD is redirected to a URL signed for HEAD.
      const head = await request(at(BIG_NAME), { method: 'HEAD' });
      expect(head.status).toBe(307);
      const headThere = await request(String(head.headers.location), { method: 'HEAD' });
      expect([headThere.status, headThere.headers['content-length']]).toEqual([200, String(BIG_SIZE)]);
    });

    it('asks S3 for one window only: one GetObject with the shortened Range', async () => {
      await resetS3Requests(backend);
      await request(at(BIG_NAME), { headers: { ...MEDIA_REQUEST, range: 'bytes=5000-' } });
      const seen = await s3Requests(backend);
      expect(seen.map((r) => [r.method, r.range])).toEqual([['GET', `bytes=5000-${5000 + WINDOW - 1}`]]);
    });

    it('a player\u2019s suffix longer than its window: one GetObject with the suffix, of which only the window is sent, the rest released', async () => {
      const { bytesOut } = await settledS3Connections(backend);
      await resetS3Requests(backend);
      const res = await request(at(BIG_NAME), { headers: { ...MEDIA_REQUEST, range: `bytes=-${BIG_SIZE}` } });
      expect([res.status, res.headers['content-range'], res.body.length]).toEqual([206, `bytes 0-${WINDOW - 1}/${BIG_SIZE}`, WINDOW]);
      expect((await s3Requests(backend)).map((r) => [r.method, r.range])).toEqual([['GET', `bytes=-${BIG_SIZE}`]]);
      // S3 sends the whole 24 MiB; the function stops reading it after the window.
      const after = await settledS3Connections(backend);
      expect(after.inFlight).toBe(0);
      expect(after.bytesOut - bytesOut).toBeLessThan(BIG_SIZE / 2);
    });
  }
});
