import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import type { GetObjectCommandOutput, HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { StorageUnavailableError, type ByteWindow, type Conditions, type ObjectMeta, type OpenResult, type ReadIntent, type Storage, type StoredObject } from './types';

/**
 * Objects of one bucket (under an optional key prefix), read with one request per client request:
 * a GET is one GetObject (its Range and preconditions sent along, size and validators taken from
 * the same response), a HEAD or a multi-range GET one HeadObject. Only what the core validated is
 * ever sent: S3 answers a malformed or multi-range Range with 200 and the whole object.
 */
export interface S3StorageOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Prepended to every key, e.g. "downloads/". */
  readonly prefix: string;
  /**
   * What AccessDenied means. Without s3:ListBucket, S3 answers a missing key with 403, so
   * 'missing' (404) keeps the endpoint's contract and reveals nothing; 'error' (502, logged) makes
   * a wrong policy visible, for deployments that grant ListBucket.
   */
  readonly accessDenied: 'missing' | 'error';
}

const MISSING: OpenResult = { status: 'missing' };
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

type Commands = Pick<typeof import('@aws-sdk/client-s3'), 'GetObjectCommand' | 'HeadObjectCommand'>;
type PresignOverrides = { ResponseContentType: string; ResponseContentDisposition?: string };

/**
 * The SDK is imported here, on first use, not at the top: in the ESM bundle esbuild hoists static
 * imports of external packages to the top, and a container serving local files must not load it.
 */
export async function createS3Storage(options: S3StorageOptions): Promise<Storage> {
  const sdk: Commands = await import('@aws-sdk/client-s3');
  const { GetObjectCommand, HeadObjectCommand } = sdk;
  const { client, bucket } = options;
  return {
    async open(key, intent) {
      const Key = options.prefix + key;
      try {
        if (intent.body.kind === 'none') {
          const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key, ...conditionParams(intent.conditions) }));
          return { status: 'found', object: s3Object(sdk, options, Key, metaOf(head), undefined) };
        }
        const Range = intent.body.kind === 'range' ? rangeHeader(intent.body.range) : undefined;
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key, Range, ...conditionParams(intent.conditions) }));
        const body = bodyOf(response);
        try {
          const meta = metaOf(response);
          const window = windowSent(response, meta.size);
          if (window === undefined) body.destroy();
          return { status: 'found', object: s3Object(sdk, options, Key, meta, window && { window, body }) };
        } catch (error) {
          body.destroy();
          throw error;
        }
      } catch (error) {
        releaseResponseOf(error);
        return answerFor(error, sdk, options, Key, intent);
      }
    },

    /** A presigned GetObject (or HeadObject, for HEAD) whose response carries our type and disposition. */
    async presign(key, request) {
      const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
      const overrides: PresignOverrides = { ResponseContentType: request.contentType };
      if (request.contentDisposition !== undefined) overrides.ResponseContentDisposition = request.contentDisposition;
      const input = { Bucket: bucket, Key: options.prefix + key, ...overrides };
      const command = request.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
      return getSignedUrl(client, command, { expiresIn: request.expiresInSeconds });
    },
  };
}

/** Turns S3's refusals into answers, and its failures into StorageUnavailableError. */
async function answerFor(error: unknown, sdk: Commands, options: S3StorageOptions, Key: string, intent: ReadIntent): Promise<OpenResult> {
  const status = httpStatusOf(error);
  const name = error instanceof Error ? error.name : '';
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return MISSING;
  // SDK v3 reports a 304 as an error (named "304"); its headers carry the validators.
  if (status === 304) {
    const headers = responseHeadersOf(error);
    const lastModified = headers['last-modified'] === undefined ? NaN : Date.parse(headers['last-modified']);
    return {
      status: 'not-modified',
      etag: headers.etag ?? intent.conditions.ifNoneMatch,
      lastModified: Number.isNaN(lastModified) ? undefined : lastModified,
    };
  }
  if (status === 412) return { status: 'precondition-failed' };
  if (status === 416 || name === 'InvalidRange') {
    // AWS puts the size in the error body; other S3 servers may not, and then one HeadObject tells.
    const reported = Number((error as { ActualObjectSize?: unknown }).ActualObjectSize);
    if (Number.isSafeInteger(reported) && reported >= 0) return { status: 'unsatisfiable', size: reported };
    try {
      const head = await options.client.send(new sdk.HeadObjectCommand({ Bucket: options.bucket, Key }));
      return { status: 'unsatisfiable', size: metaOf(head).size };
    } catch (headError) {
      return answerFor(headError, sdk, options, Key, intent);
    }
  }
  if (status === 403 || name === 'AccessDenied') {
    if (options.accessDenied === 'missing') return MISSING;
    throw new StorageUnavailableError('failed', `access denied to ${Key}`, { cause: error });
  }
  throw unavailable(error);
}

/** After the SDK's own retries: throttling, 5xx, timeouts and network errors. Anything else is a bug. */
function unavailable(error: unknown): unknown {
  const status = httpStatusOf(error);
  const name = error instanceof Error ? error.name : '';
  const code = (error as { code?: unknown }).code;
  if (name === 'SlowDown' || name.includes('Throttl') || status === 503 || status === 429) {
    return new StorageUnavailableError('throttled', 'storage is throttling requests', { cause: error });
  }
  // Before the timeout check: the SDK names a reset socket ("socket hang up") TimeoutError too,
  // and only its code tells a refused or cut connection from a storage that is merely slow.
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNABORTED)$/.test(code)) {
    return new StorageUnavailableError('unreachable', `storage unreachable (${code})`, { cause: error });
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || code === 'ETIMEDOUT') {
    return new StorageUnavailableError('timeout', 'storage did not answer in time', { cause: error });
  }
  if (status !== undefined && status >= 500) return new StorageUnavailableError('failed', `storage answered ${status}`, { cause: error });
  if (name === 'CredentialsProviderError') return new StorageUnavailableError('failed', 'no credentials for storage', { cause: error });
  return error;
}

function s3Object(
  sdk: Commands,
  options: S3StorageOptions,
  Key: string,
  meta: ObjectMeta,
  prefetched: { window: ByteWindow; body: Readable } | undefined,
): StoredObject {
  let pending = prefetched;
  // The prefetched body, read as it came, needs no check of the core's (one stream stage less per
  // chunk: about 4 % of the instructions of a whole 64 MiB object, README "Performance").
  const heldToItsWindow = prefetched !== undefined && heldToWindow(prefetched.body, prefetched.window);
  return {
    meta,
    exact: (window) => heldToItsWindow && pending !== undefined && pending.window.start === window.start && pending.window.end === window.end,
    read(window) {
      if (pending !== undefined && pending.window.start === window.start && window.end <= pending.window.end) {
        const { body } = pending;
        const whole = pending.window.end === window.end;
        pending = undefined;
        // A suffix range longer than a player's window comes back whole: use its beginning.
        return whole ? body : firstBytes(body, window.end - window.start + 1);
      }
      // Any other window (a multipart part, the whole object after a stale If-Range date) is a
      // further request, pinned to this version: if the object was replaced meanwhile, S3 answers
      // 412 and the read fails rather than mixing bytes of two versions.
      return lazyRead(async () => {
        try {
          const response = await options.client.send(
            new sdk.GetObjectCommand({ Bucket: options.bucket, Key, Range: `bytes=${window.start}-${window.end}`, IfMatch: meta.etag }),
          );
          return bodyOf(response);
        } catch (error) {
          releaseResponseOf(error);
          if (httpStatusOf(error) === 412) throw new Error(`${Key} changed while it was being read`, { cause: error });
          throw unavailable(error);
        }
      });
    },
    async close() {
      // An answer that did not use the prefetched body (304, 412, another window) must release it,
      // or its socket stays out of the pool.
      pending?.body.destroy();
      pending = undefined;
    },
  };
}

/**
 * Whether Node's HTTP client holds `body` to exactly the bytes of `window`, as StoredObject.exact
 * asks: a response (not a stream made elsewhere, such as a test's mock) whose Content-Length is the
 * window's length. Its parser passes on no byte past Content-Length, in socket reads of at most
 * 64 KiB (16 KiB with TLS), and a connection that ends before it makes the body fail ('aborted',
 * ECONNRESET), never end; the SDK's socket timeout destroys it with an error too.
 */
function heldToWindow(body: Readable, window: ByteWindow): boolean {
  return body instanceof IncomingMessage && body.headers['content-length'] === String(window.end - window.start + 1);
}

/** The first `count` bytes of `body`, which is then destroyed (its socket closed, nothing more read). */
function firstBytes(body: Readable, count: number): Readable {
  let left = count;
  const out = new Readable({
    read() {
      body.resume();
    },
    destroy(error, callback) {
      body.destroy();
      callback(error);
    },
  });
  body.on('data', (chunk: Buffer) => {
    if (left <= 0) return;
    const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= piece.length;
    const more = out.push(piece);
    if (left === 0) {
      out.push(null);
      body.destroy();
    } else if (!more) {
      body.pause();
    }
  });
  body.once('end', () => out.push(null));
  body.once('error', (error) => out.destroy(error));
  return out;
}

/** A stream whose request starts on the first read, with backpressure onto the response body. */
function lazyRead(open: () => Promise<Readable>): Readable {
  let source: Readable | undefined;
  let starting = false;
  const out = new Readable({
    read() {
      if (source !== undefined) {
        source.resume();
        return;
      }
      if (starting) return;
      starting = true;
      open().then(
        (body) => {
          if (out.destroyed) {
            body.destroy();
            return;
          }
          source = body;
          body.on('data', (chunk: Buffer) => {
            if (!out.push(chunk)) body.pause();
          });
          body.once('end', () => out.push(null));
          body.once('error', (error) => out.destroy(error));
        },
        (error: unknown) => out.destroy(error as Error),
      );
    },
    destroy(error, callback) {
      source?.destroy();
      callback(error);
    },
  });
  return out;
}

function conditionParams(conditions: Conditions) {
  return {
    IfMatch: conditions.ifMatch,
    IfNoneMatch: conditions.ifNoneMatch,
    IfModifiedSince: conditions.ifModifiedSince === undefined ? undefined : new Date(conditions.ifModifiedSince),
    IfUnmodifiedSince: conditions.ifUnmodifiedSince === undefined ? undefined : new Date(conditions.ifUnmodifiedSince),
  };
}

function rangeHeader(range: Extract<ReadIntent['body'], { kind: 'range' }>['range']): string {
  return range.kind === 'suffix' ? `bytes=-${range.length}` : `bytes=${range.start}-${range.end ?? ''}`;
}

function metaOf(response: GetObjectCommandOutput | HeadObjectCommandOutput): ObjectMeta {
  const size = 'ContentRange' in response && response.ContentRange ? Number(CONTENT_RANGE.exec(response.ContentRange)?.[3]) : response.ContentLength;
  if (size === undefined || !Number.isSafeInteger(size) || response.ETag === undefined || response.LastModified === undefined) {
    throw new StorageUnavailableError('failed', 'storage answered without size, ETag or Last-Modified');
  }
  return { size, etag: response.ETag, lastModified: response.LastModified.getTime() };
}

/** The window the response body holds: its Content-Range, or the whole object. */
function windowSent(response: GetObjectCommandOutput, size: number): ByteWindow | undefined {
  const match = response.ContentRange ? CONTENT_RANGE.exec(response.ContentRange) : null;
  if (match) return { start: Number(match[1]), end: Number(match[2]) };
  return size > 0 ? { start: 0, end: size - 1 } : undefined;
}

function bodyOf(response: GetObjectCommandOutput): Readable {
  const body = response.Body;
  if (body instanceof Readable) return body;
  // Whatever came instead (a web stream, from another request handler) may hold the socket too.
  release(body);
  throw new StorageUnavailableError('failed', 'storage answered without a body stream');
}

/**
 * A failed send may still hold a response body nobody will read: the SDK keeps the raw response on
 * an error its deserializer threw (a 2xx whose Last-Modified it cannot parse, say). Unread, it
 * keeps its socket out of the pool until the socket timeout. (S3's own errors come read.)
 */
function releaseResponseOf(error: unknown): void {
  release((error as { $response?: { body?: unknown } } | undefined)?.$response?.body);
}

/**
 * Destroying an unread body closes its socket (one with bytes still to come cannot be reused).
 * A body read to its end keeps its socket: Node detached it when it went back to the pool.
 */
function release(body: unknown): void {
  if (body instanceof Readable) body.destroy();
  else if (body instanceof ReadableStream) body.cancel().catch(() => undefined);
}

function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function responseHeadersOf(error: unknown): Record<string, string | undefined> {
  return (error as { $response?: { headers?: Record<string, string> } }).$response?.headers ?? {};
}
