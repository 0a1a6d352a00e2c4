import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_NAME, SAMPLE_PATH } from './paths';

export const BIG_NAME = 'Big_Random__9d8c7b6a-0000-4000-8000-000000000001.mp4';
export const BIG_SIZE = 24 * 1024 * 1024 + 12_345;
export const WEBM_NAME = 'Sample_WebM__5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c.webm';
export const UNICODE_NAME = 'Ñandú en el río — 日本語 (1)__7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d.mp4';
/** An MP4 of about 19 MB with the index at the end: too big to take whole, so players must use ranges. */
export const LONG_MP4_NAME = 'Long_Test_Pattern__3c2b1a09-8f7e-4d6c-b5a4-938271605f4e.mp4';
export const EMPTY_NAME = 'Empty__00000000-0000-4000-8000-000000000000.mp4';
/** The reference page's own example: its name, and its 50 MB (52 428 800 bytes). */
export const PAGE_NAME = 'My_Video__123e4567-e89b-12d3.mp4';
export const PAGE_SIZE = 52_428_800;
/** A 64 MiB download to resume with curl -C - and wget -c. */
export const RESUME_NAME = 'Resume_Test__0f0e0d0c-0b0a-4908-8706-050403020100.mp4';
export const RESUME_SIZE = 64 * 1024 * 1024;
/**
 * A 60 s MP4 of about 30 MB (index at the end): 4 Mbit/s that noise keeps from compressing away,
 * so that it spans eight 4 MiB windows and a player must come back for more (test/clients/engines.test.ts).
 */
export const NOISY_MP4_NAME = 'Noisy_Test_Pattern__8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968.mp4';

/** A downloads folder with the fixtures every integration test uses; media made here, not committed. */
export async function makeDownloads(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'downloads-'));
  await copyFile(SAMPLE_PATH, join(dir, SAMPLE_NAME));
  await copyFile(SAMPLE_PATH, join(dir, UNICODE_NAME));
  await writeFile(join(dir, EMPTY_NAME), '');
  await writeRandomFile(join(dir, BIG_NAME), BIG_SIZE);
  await writeRandomFile(join(dir, PAGE_NAME), PAGE_SIZE);
  await writeRandomFile(join(dir, RESUME_NAME), RESUME_SIZE);
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000',
    '-t', '12', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '50',
    '-c:a', 'libopus', '-b:a', '48k', join(dir, WEBM_NAME),
  ]);
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50',
    // Constant bit rate: the test pattern would otherwise compress to almost nothing.
    '-b:v', '2500k', '-minrate', '2500k', '-maxrate', '2500k', '-bufsize', '1M', '-x264-params', 'nal-hrd=cbr',
    '-c:a', 'aac', '-b:a', '64k', join(dir, LONG_MP4_NAME),
  ]);
  // testsrc alone compresses far below any bit rate; per-frame noise does not. 360p and
  // ultrafast: about 7 s to make on two cores (720p veryfast takes 50 s for the same size).
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=550:sample_rate=44100',
    '-t', '60', '-vf', 'noise=alls=20:allf=t+u', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50',
    '-b:v', '4M', '-maxrate', '4M', '-bufsize', '2M', '-c:a', 'aac', '-b:a', '64k', join(dir, NOISY_MP4_NAME),
  ]);
  return dir;
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(1 << 20, size - written));
      await file.write(chunk);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
