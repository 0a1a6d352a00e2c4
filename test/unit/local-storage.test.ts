import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, mkdir, rm, symlink, truncate, writeFile, realpath, rename } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalStorage } from '../../storage/local';
import type { Storage, StoredObject } from '../../storage/types';
import { collect } from '../support/http';
import { fdsUnder } from '../support/fds';

/**
 * fs.read and fs.close as storage/local.ts calls them, passed through, except that the test can
 * hold the next read before it reaches the thread pool (a read in flight for as long as it likes)
 * and see every close while it waits.
 */
const fsHook = vi.hoisted(() => ({
  /** Set by holdNextRead: takes the next read instead of issuing it. */
  take: undefined as ((issue: () => Promise<{ error: Error | null; bytesRead: number }>) => void) | undefined,
  closes: [] as number[],
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  type ReadCallback = (error: NodeJS.ErrnoException | null, bytesRead: number, buffer: Buffer) => void;
  const read = (fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: ReadCallback) => {
    const take = fsHook.take;
    if (take === undefined) return fs.read(fd, buffer, offset, length, position, callback);
    fsHook.take = undefined;
    take(
      () =>
        new Promise((resolve) =>
          fs.read(fd, buffer, offset, length, position, (error, bytesRead) => {
            resolve({ error, bytesRead });
            callback(error, bytesRead, buffer);
          }),
        ),
    );
  };
  const close = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    fsHook.closes.push(fd);
    fs.close(fd, callback);
  };
  return { ...fs, read, close, default: { ...fs, read, close } };
});

/** Resolves with the next fs.read, held: calling it issues the read and resolves with its outcome. */
function holdNextRead(): Promise<() => Promise<{ error: Error | null; bytesRead: number }>> {
  return new Promise((resolve) => (fsHook.take = resolve));
}

/** The object, or undefined when the backend says the file is missing. */
async function openObject(storage: Storage, key: string): Promise<StoredObject | undefined> {
  const result = await storage.open(key, { body: { kind: 'whole' }, conditions: {} });
  return result.status === 'found' ? result.object : undefined;
}

let base: string;
let root: string;
let outside: string;
const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'local-storage-')));
  root = join(base, 'downloads');
  outside = join(base, 'secret');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(root, 'clip__1.mp4'), content);
  await writeFile(join(root, 'empty__2.mp4'), '');
  await writeFile(join(root, 'Ñandú con espacios__3.webm'), 'unicode');
  await writeFile(join(outside, 'passwd'), 'root:x:0:0');
  await mkdir(join(root, 'folder.mp4'));
  await mkdir(join(root, 'sub'));
  await writeFile(join(root, 'sub', 'inner.mp4'), 'inner');
  await symlink(join(outside, 'passwd'), join(root, 'escape.mp4'));
  await symlink('../secret/passwd', join(root, 'relative-escape.mp4'));
  await symlink(outside, join(root, 'escape-dir'));
  await symlink(join(root, 'clip__1.mp4'), join(root, 'alias.mp4'));
  await symlink(join(root, 'sub', 'inner.mp4'), join(root, 'alias-inner.mp4'));
  await symlink(join(root, 'missing.mp4'), join(root, 'dangling.mp4'));
  execFileSync('mkfifo', [join(root, 'pipe.mp4')]);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('local storage', () => {
  it('gives metadata and exactly the bytes of a window', async () => {
    const storage = createLocalStorage(root);
    const object = await openObject(storage, 'clip__1.mp4');
    expect(object?.meta.size).toBe(content.length);
    expect(object?.meta.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    const bytes = await collect(object?.read({ start: 1000, end: 200_000 }));
    expect(bytes.equals(content.subarray(1000, 200_001))).toBe(true);
    await object?.close();
  });

  it('keeps the descriptor for further windows after one is destroyed half way (multipart)', async () => {
    const object = await openObject(createLocalStorage(root), 'clip__1.mp4');
    const first = object?.read({ start: 0, end: content.length - 1 });
    await new Promise<void>((resolve) => first?.once('data', () => resolve()));
    first?.destroy();
    const second = await collect(object?.read({ start: 5, end: 70_004 }));
    expect(second.equals(content.subarray(5, 70_005))).toBe(true);
    await object?.close();
  });

  it('reads in 64 KiB chunks', async () => {
    const object = await openObject(createLocalStorage(root), 'clip__1.mp4');
    const sizes: number[] = [];
    for await (const chunk of object?.read({ start: 0, end: content.length - 1 }) ?? []) sizes.push((chunk as Buffer).length);
    expect(Math.max(...sizes)).toBe(65_536);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(content.length);
    await object?.close();
  });

  it('serves Unicode names with spaces, and symlinks that stay inside the root', async () => {
    const storage = createLocalStorage(root);
    for (const key of ['Ñandú con espacios__3.webm', 'alias.mp4', 'alias-inner.mp4', 'empty__2.mp4']) {
      const object = await openObject(storage, key);
      expect(object, key).toBeDefined();
      await object?.close();
    }
  });

  it.each(['escape.mp4', 'relative-escape.mp4', 'dangling.mp4', 'missing.mp4', 'folder.mp4', 'pipe.mp4', '../secret/passwd', 'escape-dir', '.', '..'])(
    'does not serve %s',
    async (key) => {
      expect(await openObject(createLocalStorage(root), key)).toBeUndefined();
    },
  );

  it('finds nothing when the root does not exist', async () => {
    expect(await openObject(createLocalStorage(join(base, 'nope')), 'clip__1.mp4')).toBeUndefined();
  });

  it('changes the ETag when a file is replaced, and keeps serving the opened version', async () => {
    const storage = createLocalStorage(root);
    await writeFile(join(root, 'swap.mp4'), 'version one');
    const first = await openObject(storage, 'swap.mp4');
    await writeFile(join(root, 'swap.tmp'), 'version two!');
    await rename(join(root, 'swap.tmp'), join(root, 'swap.mp4'));
    const second = await openObject(storage, 'swap.mp4');
    expect(second?.meta.etag).not.toBe(first?.meta.etag);
    expect((await collect(first?.read({ start: 0, end: 10 }))).toString()).toBe('version one');
    expect((await collect(second?.read({ start: 0, end: 11 }))).toString()).toBe('version two!');
    await first?.close();
    await second?.close();
  });

  it('fails, rather than ends, a window the file no longer holds (it shrank after open)', async () => {
    const storage = createLocalStorage(root);
    await writeFile(join(root, 'shrinking.mp4'), content);
    const object = await openObject(storage, 'shrinking.mp4');
    expect(object?.exact).toBe(true);
    await truncate(join(root, 'shrinking.mp4'), 100_000);
    await expect(collect(object?.read({ start: 0, end: content.length - 1 }))).rejects.toThrow(/ended at byte 100000/);
    await object?.close();
  });

  it('waits for a read in flight before closing the descriptor', async () => {
    const storage = createLocalStorage(root);
    const before = fdsUnder(root).length;
    const object = await openObject(storage, 'clip__1.mp4');
    if (object === undefined) throw new Error('clip__1.mp4 not found');
    const stream = object.read({ start: 0, end: content.length - 1 });
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    const held = holdNextRead();
    stream.resume();
    // The first read has been asked of fs.read and not answered: it is in flight.
    const issue = await held;
    fsHook.closes.length = 0;
    let closed = false;
    const closing = object.close().then(() => (closed = true));
    // A close() that did not wait would have called fs.close by now: it takes microtasks only.
    await new Promise((resolve) => setImmediate(resolve));
    expect([fsHook.closes, closed, fdsUnder(root).length]).toEqual([[], false, before + 1]);
    // The read then runs on the descriptor still open, and no later read is issued (it would
    // fail with EBADF, or read a descriptor reused meanwhile).
    expect(await issue()).toEqual({ error: null, bytesRead: 65_536 });
    expect((await failed).message).toBe('file closed before its window was read');
    await closing;
    expect(fsHook.closes).toHaveLength(1);
    expect(fdsUnder(root).length).toBe(before);
  });

  it('closes the file on every path: end, early destroy, error, never read', async () => {
    const storage = createLocalStorage(root);
    const before = fdsUnder(root).length;

    const ended = await openObject(storage, 'clip__1.mp4');
    await collect(ended?.read({ start: 0, end: 99 }));
    await ended?.close();

    const destroyed = await openObject(storage, 'clip__1.mp4');
    const stream = destroyed?.read({ start: 0, end: content.length - 1 });
    stream?.once('data', () => stream.destroy());
    await new Promise((resolve) => stream?.once('close', resolve));
    await destroyed?.close();

    const unread = await openObject(storage, 'clip__1.mp4');
    await unread?.close();
    await unread?.close(); // idempotent

    for (let i = 0; i < 200; i += 1) await (await openObject(storage, 'clip__1.mp4'))?.close();
    await sleep(10);
    expect(fdsUnder(root).length).toBe(before);
  });
});
