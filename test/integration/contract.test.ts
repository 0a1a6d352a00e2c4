import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIG_NAME, BIG_SIZE, LONG_MP4_NAME, PAGE_NAME, PAGE_SIZE, RESUME_NAME, RESUME_SIZE } from '../support/fixtures';
import { request } from '../support/client';
import { requireTool } from '../support/tools';
import { USER_AGENTS } from '../../support/user-agents';
import { DEFAULT_MAX_RANGE_BYTES } from '../../core/plan';
import type { BackendContext } from '../support/backends';

/**
 * The reference page's promises, kept for every kind of client, with the real clients: its four
 * examples verbatim, resumes with curl -C - and wget -c on the plain URL, ffmpeg copying a whole
 * video, and windows only for the media requests of proven engines (RANGE_WINDOWS=proven).
 */
const run = promisify(execFile);
const curl = () => requireTool('/usr/bin/curl', 'curl');
const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** One curl call; returns the status line, the response headers (lower-case names) and the body. */
async function curlGet(args: string[], url: string, work: string) {
  const [headerFile, bodyFile] = [join(work, 'headers.txt'), join(work, 'body.bin')];
  await run(curl(), ['-sS', '-D', headerFile, '-o', bodyFile, ...args, url]);
  const [statusLine = '', ...lines] = (await readFile(headerFile, 'latin1')).trimEnd().split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
  return { statusLine, headers, body: await readFile(bodyFile) };
}

describe.each(inject('backends'))('the reference page, with the $kind backend', (backend: BackendContext) => {
  // The page's examples name http://localhost:8001; only the origin is the test server's.
  const pageUrl = (name: string) => `${backend.url}/api/stream/${encodeURIComponent(name)}`;
  let page: Buffer;
  let work: string;

  beforeAll(async () => {
    page = await readFile(join(backend.downloads, PAGE_NAME));
    expect(page.length).toBe(PAGE_SIZE);
    work = await mkdtemp(join(tmpdir(), 'contract-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('Basic Playback (Full File): curl gets 200 and the complete file', async () => {
    const res = await curlGet([], pageUrl(PAGE_NAME), work);
    expect(res.statusLine).toBe('HTTP/1.1 200 OK');
    expect([res.headers['content-type'], res.headers['content-length']]).toEqual(['video/mp4', String(PAGE_SIZE)]);
    expect(digest(res.body)).toBe(digest(page));
  });

  // Copied from the page: the request's Range, and the response's header lines.
  it.each([
    ['Range Request (First 1MB)', 'bytes=0-1048575', 'bytes 0-1048575/52428800', '1048576', 0],
    ['Range Request (Resume from 10MB)', 'bytes=10485760-', 'bytes 10485760-52428799/52428800', '41943040', 10_485_760],
    ['Seeking to Middle of Video', 'bytes=26214400-27262975', 'bytes 26214400-27262975/52428800', '1048576', 26_214_400],
  ])('%s: curl -H "Range: %s" gets exactly the page\u2019s answer', async (_title, range, contentRange, contentLength, start) => {
    const res = await curlGet(['-H', `Range: ${range}`], pageUrl(PAGE_NAME), work);
    expect(res.statusLine).toBe('HTTP/1.1 206 Partial Content');
    expect(res.headers['content-range']).toBe(contentRange);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['content-length']).toBe(contentLength);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.body.equals(page.subarray(start, start + Number(contentLength)))).toBe(true);
  });

  describe('bytes=N- from each kind of client: windows only for media requests of proven engines', () => {
    const start = 10_485_760;
    const clients = [
      ['Chrome', USER_AGENTS.chrome, true],
      ['Firefox', USER_AGENTS.firefox, true],
      ['Safari', USER_AGENTS.safari, false],
      ['WebKitGTK', USER_AGENTS.webkitGtk, false],
      ['Chrome on iOS (WebKit)', USER_AGENTS.iosChrome, false],
      ['no User-Agent', undefined, false],
    ] as const;
    const answers = new Map<string, { etag: string | undefined; lastModified: string | undefined }>();

    it.each(
      clients.flatMap(([name, agent, proven]) => [
        { name, agent, dest: 'video', windowed: proven },
        { name, agent, dest: undefined, windowed: false },
      ]),
    )('$name, Sec-Fetch-Dest: $dest', async ({ name, agent, dest, windowed }) => {
      const headers: Record<string, string> = { range: `bytes=${start}-` };
      if (agent !== undefined) headers['user-agent'] = agent;
      if (dest !== undefined) headers['sec-fetch-dest'] = dest;
      const res = await request(pageUrl(PAGE_NAME), { headers });
      const end = windowed ? start + DEFAULT_MAX_RANGE_BYTES - 1 : PAGE_SIZE - 1;
      expect([res.status, res.headers['content-range']]).toEqual([206, `bytes ${start}-${end}/${PAGE_SIZE}`]);
      expect(res.body.equals(page.subarray(start, end + 1))).toBe(true);
      // The answer depends on these two headers, and says so; the validators do not.
      expect(res.headers.vary).toBe('Sec-Fetch-Dest, User-Agent');
      answers.set(`${name} ${dest}`, { etag: res.headers.etag, lastModified: res.headers['last-modified'] });
    });

    it('gives every client the same validators', () => {
      expect(answers.size).toBe(clients.length * 2);
      expect(new Set([...answers.values()].map((v) => JSON.stringify(v))).size).toBe(1);
    });
  });

  it('curl -C - on the plain URL completes a partial 64 MiB download byte for byte', async () => {
    const original = await readFile(join(backend.downloads, RESUME_NAME));
    const file = join(work, `curl-${backend.kind}.mp4`);
    await writeFile(file, original.subarray(0, 10_000_000));
    const { stdout } = await run(curl(), ['-sS', '-C', '-', '-o', file, '-w', '%{http_code}', pageUrl(RESUME_NAME)]);
    expect(stdout).toBe('206');
    expect((await stat(file)).size).toBe(RESUME_SIZE);
    expect(digest(await readFile(file))).toBe(digest(original));
  });

  it('wget -c on the plain URL completes a partial 64 MiB download byte for byte', async () => {
    const wget = requireTool('/usr/bin/wget', 'wget');
    const original = await readFile(join(backend.downloads, RESUME_NAME));
    const file = join(work, `wget-${backend.kind}.mp4`);
    await writeFile(file, original.subarray(0, 12_345_678));
    const { stderr } = await run(wget, ['-c', '-O', file, pageUrl(RESUME_NAME)]);
    expect(stderr).toContain('206 Partial Content');
    expect((await stat(file)).size).toBe(RESUME_SIZE);
    expect(digest(await readFile(file))).toBe(digest(original));
  });

  it('ffmpeg -i <url> -c copy copies the whole video: the same duration and frames as the source', async () => {
    const ffmpeg = requireTool('/usr/bin/ffmpeg', 'ffmpeg');
    const ffprobe = requireTool('/usr/bin/ffprobe', 'ffmpeg');
    const copy = join(work, `copy-${backend.kind}.mp4`);
    await run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-i', pageUrl(LONG_MP4_NAME), '-c', 'copy', copy]);
    const probe = async (input: string) => {
      const { stdout } = await run(ffprobe, [
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=nb_read_frames:format=duration',
        '-of',
        'json',
        input,
      ]);
      const parsed = JSON.parse(stdout) as { streams: Array<{ nb_read_frames: string }>; format: { duration: string } };
      return { frames: Number(parsed.streams[0]?.nb_read_frames), duration: Number(parsed.format.duration) };
    };
    const [source, copied] = await Promise.all([probe(join(backend.downloads, LONG_MP4_NAME)), probe(copy)]);
    expect(source.frames).toBe(1500);
    expect(copied.frames).toBe(source.frames);
    expect(copied.duration).toBeCloseTo(source.duration, 1);
  });
});

describe.each(inject('tightBackends'))('past MAX_RESPONSE_BYTES (8 MiB here), with the $kind backend', (backend: BackendContext) => {
  const url = `${backend.url}/api/stream/${encodeURIComponent(BIG_NAME)}`;
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'contract-limit-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  if (backend.kind === 's3') {
    it('curl -L -C - follows the 307 to S3, which honours the Range, and completes the file', async () => {
      const original = await readFile(join(backend.downloads, BIG_NAME));
      const file = join(work, 'resumed.mp4');
      await writeFile(file, original.subarray(0, 1_000_000));
      const { stdout } = await run(curl(), ['-sS', '-L', '-C', '-', '-o', file, '-w', '%{num_redirects} %{http_code}', url]);
      // One redirect, then S3's own 206 for the rest.
      expect(stdout).toBe('1 206');
      expect((await stat(file)).size).toBe(BIG_SIZE);
      expect(digest(await readFile(file))).toBe(digest(original));
    });
  } else {
    it('curl -C - gets a clear 413 (local disk cannot redirect), and the partial file is left as it was', async () => {
      const original = await readFile(join(backend.downloads, BIG_NAME));
      const file = join(work, 'partial.mp4');
      await writeFile(file, original.subarray(0, 1_000_000));
      const failed = await run(curl(), ['-sS', '-f', '-C', '-', '-o', file, url]).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failed?.code).toBe(22);
      expect(failed?.stderr).toContain('413');
      expect((await stat(file)).size).toBe(1_000_000);
      const res = await request(url, { headers: { range: 'bytes=1000000-' } });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body.toString()).detail).toMatch(/Range/);
    });
  }
});
