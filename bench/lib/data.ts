import { randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Cleanup } from './cleanup';
import type { Profile } from './profile';

export interface BenchFile {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

export interface BenchFiles {
  /** The temp dir of the run: data/ is served, the rest is for peers' configs and logs. */
  readonly root: string;
  readonly dir: string;
  readonly big: BenchFile;
  readonly whole: BenchFile;
  readonly small: BenchFile;
}

const PATTERN_SIZE = 64 * 1024 * 1024;

/**
 * Real (not sparse) random data, made fast: one random buffer of up to 64 MiB written over and
 * over, each copy rotated by a few bytes so that no two 64 KiB chunks of a file are alike. Then
 * fsync'ed (no writeback during the measurements) and read once (page cache warm).
 */
export async function makeFiles(profile: Profile, cleanup: Cleanup): Promise<BenchFiles> {
  const root = await mkdtemp(join(tmpdir(), 'video-stream-bench-'));
  cleanup.add(`temp dir ${root}`, () => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'data');
  await mkdir(dir);
  const pattern = Buffer.allocUnsafe(Math.min(PATTERN_SIZE, profile.bigSize));
  randomFillSync(pattern);
  const make = async (name: string, size: number): Promise<BenchFile> => {
    const path = join(dir, name);
    const handle = await open(path, 'w');
    try {
      let copy = 0;
      for (let written = 0; written < size; copy++) {
        const shift = (copy * 4099) % pattern.length;
        const rotated = Buffer.concat([pattern.subarray(shift), pattern.subarray(0, shift)]);
        const length = Math.min(rotated.length, size - written);
        await handle.write(rotated, 0, length, written);
        written += length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await warm(path);
    return { name, path, size };
  };
  return {
    root,
    dir,
    big: await make('Bench_Big__0b000000-0000-4000-8000-000000000001.mp4', profile.bigSize),
    whole: await make('Bench_Whole__0b000000-0000-4000-8000-000000000002.mp4', profile.wholeSize),
    small: await make('Bench_Small__0b000000-0000-4000-8000-000000000003.mp4', profile.smallSize),
  };
}

/** Reads a file once to the end, so that it is in the page cache. */
export async function warm(path: string): Promise<void> {
  await pipeline(
    createReadStream(path, { highWaterMark: 1024 * 1024 }),
    new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  );
}

export function randomWindow(size: number, length: number): { start: number; end: number } {
  const start = Math.floor(Math.random() * (size - length + 1));
  return { start, end: start + length - 1 };
}
