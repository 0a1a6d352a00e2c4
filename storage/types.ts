import type { Readable } from 'node:stream';

/** What the HTTP core needs to know about a stored file to answer any request for it. */
export interface ObjectMeta {
  /** Bytes. */
  readonly size: number;
  /** A strong entity tag, quotes included (`"…"`): it must change whenever the bytes change. */
  readonly etag: string;
  /** Milliseconds since the epoch. */
  readonly lastModified: number;
}

/** An inclusive byte window, `start <= end < size`, as in `Content-Range: bytes start-end/size`. */
export interface ByteWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * One opened file. Every byte read through it belongs to the version described by `meta`
 * (a backend that cannot guarantee that must fail the read rather than mix versions).
 */
export interface StoredObject {
  readonly meta: ObjectMeta;
  /** Exactly the bytes of `window`, in chunks of at most 64 KiB. May be called more than once. */
  read(window: ByteWindow): Readable;
  /** Releases what `open` acquired (a file descriptor, a socket). Idempotent; never throws. */
  close(): Promise<void>;
}

export interface Storage {
  /**
   * `key` is a plain file name the core has already validated. Resolves to undefined when there is
   * no such file (or it may not be served: outside the root, not a regular file); throws only on
   * faults of the storage itself.
   */
  open(key: string): Promise<StoredObject | undefined>;
}

/** Chunk size of every body read, as the reference implementation: 64 KiB. */
export const CHUNK_SIZE = 65_536;
