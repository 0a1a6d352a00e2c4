import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { CHUNK_SIZE, type ByteWindow, type ObjectMeta, type OpenResult, type Storage, type StoredObject } from './types';

/** Errors that mean "there is nothing here we may serve", as opposed to a fault of the disk. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG', 'EISDIR']);

// O_NOFOLLOW: the resolved path's last component cannot be swapped for a symlink between
// realpath() and open(). O_NONBLOCK: opening a FIFO someone left in the folder must not hang;
// it has no effect on reads of regular files.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Files directly inside `root` (DOWNLOADS_DIR). A name is resolved to its real path, and served
 * only if that is inside the real root: a symlink may point elsewhere in the root, never out of it.
 * The file is opened once per request and every window is read from that descriptor, so all the
 * bytes of one response come from the file that was stat'ed, even if it is replaced meanwhile.
 * Reading the metadata costs no more than any request would, so the read intent is not needed: the
 * core evaluates every condition itself.
 */
export function createLocalStorage(root: string): Storage {
  const absoluteRoot = resolve(root);
  const missing: OpenResult = { status: 'missing' };
  return {
    async open(key) {
      const object = await openFile(key);
      return object === undefined ? missing : { status: 'found', object };
    },
  };

  async function openFile(key: string): Promise<StoredObject | undefined> {
    if (key.includes('/') || key.includes('\\') || key.includes('\0') || key.startsWith('.')) return undefined;
    const realRoot = await absent(realpath(absoluteRoot));
    if (realRoot === undefined) return undefined;
    const real = await absent(realpath(join(realRoot, key)));
    const inside = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
    if (real === undefined || !real.startsWith(inside)) return undefined;
    const handle = await absent(open(real, OPEN_FLAGS));
    if (handle === undefined) return undefined;
    try {
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) {
        await handle.close();
        return undefined;
      }
      const meta: ObjectMeta = {
        size: Number(stats.size),
        // Strong: size, nanosecond mtime and inode change with any rewrite or replacement. (The
        // `etag` package would mark a stat-based tag weak, and a weak tag disables If-Range.)
        etag: `"${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.ino.toString(16)}"`,
        lastModified: Number(stats.mtimeMs),
      };
      return openedFile(handle, meta);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
}

function openedFile(handle: FileHandle, meta: ObjectMeta): StoredObject {
  let closing: Promise<void> | undefined;
  return {
    meta,
    read: (window) => new WindowReader(handle, window),
    close() {
      // FileHandle.close() waits for reads still in flight, so no read can hit a reused descriptor.
      closing ??= handle.close().catch(() => undefined);
      return closing;
    },
  };
}

/**
 * Reads one window from a descriptor it does not own. fs.ReadStream closes its descriptor when it
 * is destroyed, even with autoClose: false, which would break the next window of a multipart
 * answer; this reader only stops. Chunks are 64 KiB, each read at an explicit position.
 */
class WindowReader extends Readable {
  #position: number;
  readonly #end: number;

  constructor(
    private readonly handle: FileHandle,
    window: ByteWindow,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
    this.#position = window.start;
    this.#end = window.end;
  }

  override _read(): void {
    const size = Math.min(CHUNK_SIZE, this.#end - this.#position + 1);
    if (size <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(size);
    this.handle.read(buffer, 0, size, this.#position).then(
      ({ bytesRead }) => {
        if (this.destroyed) return;
        // A file that shrank ends early; the core turns the short body into an error.
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        this.#position += bytesRead;
        this.push(bytesRead === size ? buffer : buffer.subarray(0, bytesRead));
      },
      (error: unknown) => this.destroy(error as Error),
    );
  }
}

async function absent<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (ABSENT.has((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}
