import { close, constants, fstat, open, read, type BigIntStats } from 'node:fs';
import { realpath } from 'node:fs/promises';
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
  // The root's real path, resolved on first use and kept: it is configuration, and resolving it
  // on every request cost a thread-pool round trip per request (see "Performance" in the README).
  let realRoot: string | undefined;
  return {
    async open(key) {
      const object = await openFile(key);
      return object === undefined ? missing : { status: 'found', object };
    },
  };

  async function openFile(key: string): Promise<StoredObject | undefined> {
    if (key.includes('/') || key.includes('\\') || key.includes('\0') || key.startsWith('.')) return undefined;
    realRoot ??= await absent(realpath(absoluteRoot));
    if (realRoot === undefined) return undefined;
    // The key has no separator, so its last component is the only one that can be a symlink, and
    // O_NOFOLLOW refuses exactly that (ELOOP): a plain file opens in one call. A symlink takes the
    // longer way, served only if its real path is inside the real root.
    let fd = await absent(openFd(join(realRoot, key)), 'ELOOP');
    if (fd === 'ELOOP') {
      const real = await absent(realpath(join(realRoot, key)));
      const inside = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
      if (real === undefined || !real.startsWith(inside)) return undefined;
      fd = await absent(openFd(real));
    }
    if (fd === undefined) return undefined;
    try {
      const stats = await fstatFd(fd);
      if (!stats.isFile()) {
        await closeFd(fd);
        return undefined;
      }
      const meta: ObjectMeta = {
        size: Number(stats.size),
        // Strong: size, nanosecond mtime and inode change with any rewrite or replacement. (The
        // `etag` package would mark a stat-based tag weak, and a weak tag disables If-Range.)
        etag: `"${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.ino.toString(16)}"`,
        lastModified: Number(stats.mtimeMs),
      };
      return openedFile(fd, meta);
    } catch (error) {
      await closeFd(fd);
      throw error;
    }
  }
}

// Plain descriptors with callbacks, not FileHandle: its promise machinery per open, stat and close
// was a measurable share of a small request (README "Performance"); close() below is what
// FileHandle's bookkeeping provided, waiting for reads in flight.
const openFd = (path: string) => new Promise<number>((resolve, reject) => open(path, OPEN_FLAGS, (error, fd) => (error ? reject(error) : resolve(fd))));
const fstatFd = (fd: number) => new Promise<BigIntStats>((resolve, reject) => fstat(fd, { bigint: true }, (error, stats) => (error ? reject(error) : resolve(stats))));
const closeFd = (fd: number) => new Promise<void>((resolve) => close(fd, () => resolve()));

function openedFile(fd: number, meta: ObjectMeta): StoredObject {
  const reads = new Reads();
  let closing: Promise<void> | undefined;
  return {
    meta,
    exact: true,
    read: (window) => new WindowReader(fd, reads, window),
    close() {
      // Closed only once no read is in flight, so that no read can hit a reused descriptor.
      closing ??= reads.stop().then(() => closeFd(fd));
      return closing;
    },
  };
}

/** The reads in flight on one descriptor, and a way to wait for none. */
class Reads {
  #inFlight = 0;
  #stopped = false;
  #idle: (() => void) | undefined;

  get stopped(): boolean {
    return this.#stopped;
  }

  begin(): void {
    this.#inFlight += 1;
  }

  end(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0) this.#idle?.();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return this.#inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (this.#idle = resolve));
  }
}

/**
 * Reads one window from a descriptor it does not own. fs.ReadStream closes its descriptor when it
 * is destroyed, even with autoClose: false, which would break the next window of a multipart
 * answer; this reader only stops. Chunks are 64 KiB, each read at an explicit position. Reads use
 * fs.read's callback rather than FileHandle.read: measured in `npm run bench` (in-process 1 MiB
 * ranges), the promise per chunk cost about a tenth of the throughput.
 */
class WindowReader extends Readable {
  #position: number;
  readonly #end: number;

  constructor(
    private readonly fd: number,
    private readonly reads: Reads,
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
    if (this.reads.stopped) {
      this.destroy(new Error('file closed before its window was read'));
      return;
    }
    const buffer = Buffer.allocUnsafe(size);
    this.reads.begin();
    read(this.fd, buffer, 0, size, this.#position, (error, bytesRead) => {
      this.reads.end();
      if (this.destroyed) return;
      if (error !== null) {
        this.destroy(error);
        return;
      }
      // A file that shrank under us: fail, so that the client's response is cut short, never
      // ended as if complete (the reader is `exact`: the core does not count again).
      if (bytesRead === 0) {
        this.destroy(new Error(`the file ended at byte ${this.#position}, inside the window being read`));
        return;
      }
      this.#position += bytesRead;
      this.push(bytesRead === size ? buffer : buffer.subarray(0, bytesRead));
    });
  }
}

/** The value, or undefined when the error means absence; `symlink` reports ELOOP apart. */
async function absent<T>(promise: Promise<T>): Promise<T | undefined>;
async function absent<T>(promise: Promise<T>, symlink: 'ELOOP'): Promise<T | 'ELOOP' | undefined>;
async function absent<T>(promise: Promise<T>, symlink?: 'ELOOP'): Promise<T | 'ELOOP' | undefined> {
  try {
    return await promise;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (symlink !== undefined && code === symlink) return symlink;
    if (ABSENT.has(code)) return undefined;
    throw error;
  }
}
