import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { SAMPLE_NAME } from '../support/paths';
import { LONG_MP4_NAME, WEBM_NAME } from '../support/fixtures';
import { CHROMIUM_ARGS, requireTool } from '../support/tools';
import type { BackendContext } from '../support/backends';
import { accessLines } from '../support/access-log';
import { contentRangeLength } from '../support/http';

const run = promisify(execFile);

const servers = [
  ...inject('backends').map((backend) => ({ ...backend, limits: 'default' as const })),
  ...inject('tightBackends').map((backend) => ({ ...backend, limits: '256 KiB window' as const })),
];

describe.each(servers)('real clients through npm start, $kind backend, $limits limits', ({ url, downloads, limits, logFile }: BackendContext & { limits: string }) => {
  const tight = limits !== 'default';
  const at = (name: string, query = '') => `${url}/api/stream/${encodeURIComponent(name)}${query}`;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: requireTool('/usr/bin/chromium', 'chromium'), args: CHROMIUM_ARGS });
    work = await mkdtemp(join(tmpdir(), 'clients-'));
  });

  afterAll(async () => {
    await browser?.close();
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ['the sample MP4', SAMPLE_NAME, false],
    ['a WebM', WEBM_NAME, false],
    ['a 19 MB MP4 with its index at the end', LONG_MP4_NAME, true],
  ])('Chromium plays %s, seeks to 80 percent and keeps playing', async (_label, name, needsRanges) => {
    const page = await browser.newPage();
    const ranges: Array<{ range: string | undefined; status: number }> = [];
    page.on('response', (response) => {
      if (response.url().includes('/api/stream/')) ranges.push({ range: response.request().headers().range, status: response.status() });
    });
    // Same origin as the video: a page of the server itself (its 404 JSON is as good as any).
    await page.goto(`${url}/`);
    const result = await page.evaluate(async (src) => {
      const waitFor = (test: () => boolean, what: string, ms = 20_000) =>
        new Promise<void>((resolve, reject) => {
          const started = performance.now();
          const tick = () => {
            if (test()) resolve();
            else if (performance.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
            else requestAnimationFrame(tick);
          };
          tick();
        });
      const video = document.createElement('video');
      video.muted = true;
      video.src = src;
      document.body.append(video);
      await video.play();
      await waitFor(() => video.currentTime > 0.5, 'playback');
      const target = video.duration * 0.8;
      const seeked = new Promise((resolve) => video.addEventListener('seeked', resolve, { once: true }));
      video.currentTime = target;
      await seeked;
      await waitFor(() => video.currentTime > target + 0.5 && !video.paused, 'playback after the seek');
      return { duration: video.duration, target, currentTime: video.currentTime, error: video.error?.code ?? null };
    }, at(name));
    await page.close();
    expect(result.error).toBeNull();
    expect(result.duration).toBeGreaterThan(11);
    expect(result.currentTime).toBeGreaterThan(result.target);
    // Chromium fetched the media with range requests and got partial answers.
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => r.range !== undefined && r.status === 206)).toBe(true);
    if (needsRanges) {
      // The index is in the last megabyte and 80 % is past the first half: neither is reachable
      // without a range that starts there (smaller files may simply arrive whole).
      const size = (await readFile(join(downloads, name))).length;
      const starts = ranges.map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1]));
      expect(starts.some((start) => start > size - 1_000_000)).toBe(true);
      expect(starts.some((start) => start > size / 2 && start < size - 1_000_000)).toBe(true);
    }
  });

  it('ffprobe reads the duration and every packet over HTTP, with no reconnect option', async () => {
    const ffprobe = requireTool('/usr/bin/ffprobe', 'ffmpeg');
    // ffmpeg would take a 206 shorter than asked for the end of the stream; it is not a media
    // element, so it gets the whole range it asks for, windows or not.
    const { stdout } = await run(ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', at(SAMPLE_NAME)]);
    expect(Number(stdout.trim())).toBeCloseTo(12, 1);
    const packets = await run(ffprobe, ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', at(SAMPLE_NAME)]);
    expect(packets.stderr).toBe('');
    // ffprobe exits 0 even when it read only part of the file: the packet count is the proof.
    expect(Number(packets.stdout.trim())).toBe(300);
  });

  it('curl -C - resumes a partial download on the plain URL to a byte-identical file', async () => {
    const curl = requireTool('/usr/bin/curl', 'curl');
    const original = await readFile(join(downloads, SAMPLE_NAME));
    const partial = join(work, 'partial.mp4');
    await writeFile(partial, original.subarray(0, 123_457));
    const { stdout } = await run(curl, ['-sS', '-C', '-', '-o', partial, '-w', '%{http_code}', at(SAMPLE_NAME)]);
    expect(stdout).toBe('206');
    expect((await readFile(partial)).equals(original)).toBe(true);
  });

  it('the access log shows Chromium\u2019s media requests windowed and a curl resume of the same file not', async () => {
    const curl = requireTool('/usr/bin/curl', 'curl');
    const from = (await stat(logFile)).size;
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    // Playing the start is enough for the first window; no seek needed.
    await page.evaluate(async (src) => {
      const video = document.createElement('video');
      video.muted = true;
      video.src = src;
      document.body.append(video);
      await video.play();
      const started = performance.now();
      while (video.currentTime < 0.5 && performance.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    }, at(LONG_MP4_NAME));
    await page.close();
    const partial = join(work, 'resume-long.mp4');
    const original = await readFile(join(downloads, LONG_MP4_NAME));
    // The rest (5 MB) is longer than a window and shorter than the tight limits' 8 MiB response.
    const have = original.length - 5_000_000;
    await writeFile(partial, original.subarray(0, have));
    await run(curl, ['-sS', '-C', '-', '-o', partial, at(LONG_MP4_NAME)]);
    expect((await readFile(partial)).equals(original)).toBe(true);

    const lines = await accessLines(logFile, from, LONG_MP4_NAME, (seen) => seen.some((l) => l.client === 'other'));
    const media = lines.filter((l) => l.client === 'chromium media');
    const window = tight ? 256 * 1024 : 4 * 1024 * 1024;
    expect(media.length).toBeGreaterThan(0);
    // The window is judged by the range sent, not by the bytes: closing the page may cut the
    // first window short before Chromium has read all of it (seen on CI with S3 behind).
    expect(media.some((l) => l.window === 'shortened' && contentRangeLength(l.rangeSent) === window)).toBe(true);
    expect(media.every((l) => l.bytes <= window)).toBe(true);
    const download = lines.filter((l) => l.client === 'other');
    expect(download).toEqual([
      expect.objectContaining({ rangeAsked: `bytes=${have}-`, rangeSent: `bytes ${have}-${original.length - 1}/${original.length}`, window: 'not media', status: 206, completed: true }),
    ]);
    // For the closing note of the window policy: one playback and one resume, side by side.
    console.info([...media, ...download].map((l) => JSON.stringify({ client: l.client, rangeAsked: l.rangeAsked, rangeSent: l.rangeSent, window: l.window, bytes: l.bytes })).join('\n'));
  });
});
