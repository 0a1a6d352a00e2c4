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

/** One byte range as a single-range HTTP Range header says it, before the size is known. */
export type RangeHint =
  | { readonly kind: 'from'; readonly start: number; readonly end: number | undefined }
  | { readonly kind: 'suffix'; readonly length: number };

/** Preconditions a backend may evaluate in the same request, with RFC 9110 semantics. */
export interface Conditions {
  /** One strong entity tag. */
  readonly ifMatch?: string;
  /** One entity tag. */
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: number;
  readonly ifUnmodifiedSince?: number;
}

/**
 * What the core will most likely need, said before it knows the size, so that a backend such as S3
 * can answer with one request. A hint, not an order: the core still decides with the metadata it
 * gets back, and reads whatever windows it decides on through `read`.
 */
export interface ReadIntent {
  readonly body: { readonly kind: 'none' } | { readonly kind: 'whole' } | { readonly kind: 'range'; readonly range: RangeHint };
  readonly conditions: Conditions;
}

export type OpenResult =
  | { readonly status: 'found'; readonly object: StoredObject }
  | { readonly status: 'missing' }
  /** The backend evaluated `conditions.ifNoneMatch` / `ifModifiedSince` itself. */
  | { readonly status: 'not-modified'; readonly etag: string | undefined; readonly lastModified: number | undefined }
  /** The backend evaluated `conditions.ifMatch` / `ifUnmodifiedSince` itself. */
  | { readonly status: 'precondition-failed' }
  /** The hinted range starts at or past the end; `size` is the object's size. */
  | { readonly status: 'unsatisfiable'; readonly size: number };

/**
 * One opened file. Every byte read through it belongs to the version described by `meta`
 * (a backend that cannot guarantee that must fail the read rather than mix versions).
 */
export interface StoredObject {
  readonly meta: ObjectMeta;
  /** Exactly the bytes of `window`. May be called more than once (multipart). */
  read(window: ByteWindow): Readable;
  /**
   * true: `read` is known to yield no byte past its window, in chunks of at most CHUNK_SIZE, and to
   * fail rather than end when it cannot deliver the whole window, so the core need not check it
   * again (one stream stage less per chunk). A function: the same for the one window it is asked
   * about, just before that window's `read` (S3: the window whose body came with the response and
   * whose length Node's HTTP parser holds it to). Unset: the core checks every read.
   */
  readonly exact?: boolean | ((window: ByteWindow) => boolean);
  /** Releases what `open` acquired (a file descriptor, a response body). Idempotent; never throws. */
  close(): Promise<void>;
}

export interface Storage {
  /**
   * `key` is a plain file name the core has already validated. Throws StorageUnavailableError when
   * the storage itself fails (after its own retries), anything else on a bug.
   */
  open(key: string, intent: ReadIntent): Promise<OpenResult>;
  /**
   * A short-lived URL where the client gets the object from storage itself, for answers too large
   * to stream. Backends that cannot hand out such URLs leave it undefined.
   */
  presign?(key: string, request: PresignRequest): Promise<string>;
}

export interface PresignRequest {
  readonly method: 'GET' | 'HEAD';
  readonly expiresInSeconds: number;
  /** Response overrides, so the client gets the same headers as from the function. */
  readonly contentType: string;
  readonly contentDisposition: string | undefined;
}

/** Why the storage could not answer; the core turns it into a 502 or 503 without details. */
export class StorageUnavailableError extends Error {
  constructor(
    readonly reason: 'throttled' | 'timeout' | 'unreachable' | 'failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** Chunk size of every body read, as the reference implementation: 64 KiB. */
export const CHUNK_SIZE = 65_536;
