import { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';

/**
 * An emulation of what the Node.js managed runtime gives a streaming handler, faithful where our
 * code depends on it (aws-lambda-nodejs-runtime-interface-client, src/stream/*):
 * - `awslambda.streamifyResponse` only marks the handler;
 * - `HttpResponseStream.from` sets the content type to PRELUDE_CONTENT_TYPE and arranges that the
 *   first call of `write()` first emits JSON.stringify(prelude) and 8 NUL bytes;
 * - `end()` does not go through that `write()`, so a stream ended without any write carries no
 *   prelude and the client sees a plain 200 (runtime client issue #97).
 * Outside Lambda there is no `awslambda` global; install() provides it for local serving and tests.
 */

export const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
export const DELIMITER_LENGTH = 8;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

export type StreamingHandler = (event: unknown, responseStream: Writable, context: Context) => unknown;

/** Where the runtime's bytes go: in Lambda, a chunked HTTP request to the Runtime API. */
export interface ByteSink {
  write(chunk: Buffer, contentType: string, done: (error?: Error | null) => void): void;
  end(contentType: string, done: (error?: Error | null) => void): void;
  abort(error: Error | null): void;
}

type WriteCallback = (error: Error | null | undefined) => void;
type FirstWriteHook = (write: (chunk: string | Uint8Array) => void) => void;

export class RuntimeResponseStream extends Writable {
  _onBeforeFirstWrite: FirstWriteHook | undefined;
  #written = false;
  #contentType = DEFAULT_CONTENT_TYPE;

  constructor(private readonly sink: ByteSink) {
    super();
  }

  setContentType(contentType: string): void {
    if (this.#written) throw new Error('Cannot set content-type, too late.');
    this.#contentType = contentType;
  }

  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (!this.#written && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((first) => super.write(first));
    }
    this.#written = true;
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (typeof encoding === 'function') return super.write(data, encoding);
    return encoding === undefined ? super.write(data, callback) : super.write(data, encoding, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.sink.write(chunk, this.#contentType, callback);
  }

  override _final(callback: WriteCallback): void {
    this.sink.end(this.#contentType, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.writableFinished) this.sink.abort(error);
    callback(error);
  }
}

class HttpResponseStream {
  static from(underlying: RuntimeResponseStream, prelude: Record<string, unknown>): RuntimeResponseStream {
    underlying.setContentType(PRELUDE_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    underlying._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(DELIMITER_LENGTH));
    };
    return underlying;
  }
}

function streamifyResponse<T extends object>(handler: T): T {
  (handler as Record<symbol, unknown>)[STREAMING] = 'response';
  return handler;
}

export function isStreamingHandler(handler: unknown): handler is StreamingHandler {
  return typeof handler === 'function' && (handler as unknown as Record<symbol, unknown>)[STREAMING] === 'response';
}

/**
 * Defines `awslambda.streamifyResponse` and `awslambda.HttpResponseStream`, as the managed runtime
 * does. Merged into an existing `awslambda` object: the AWS SDK's invoke store creates one too.
 */
export function installRuntimeGlobal(): void {
  const scope = globalThis as { awslambda?: Record<string, unknown> };
  scope.awslambda = Object.assign(scope.awslambda ?? {}, { HttpResponseStream, streamifyResponse });
}

/** The HTTP answer the Function URL front end makes of the bytes a streaming handler wrote. */
export interface DecodedHead {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies: readonly string[];
}

/**
 * Splits the runtime's byte stream into the prelude and the body, as the Function URL service
 * does: with PRELUDE_CONTENT_TYPE the bytes up to the first of 8 NULs are the JSON prelude
 * (JSON.stringify never produces NUL); with any other content type, or no bytes at all, the
 * answer is a 200 whose body is all the bytes.
 */
export class PreludeDecoder {
  #pending: Buffer[] = [];
  #head: DecodedHead | undefined;

  get head(): DecodedHead | undefined {
    return this.#head;
  }

  /** Feeds bytes; returns the head once it is known and whatever body bytes followed it. */
  push(chunk: Buffer, contentType: string): { head?: DecodedHead; body?: Buffer } {
    if (this.#head !== undefined) return { body: chunk };
    if (contentType !== PRELUDE_CONTENT_TYPE) {
      this.#head = plainHead(contentType);
      return { head: this.#head, body: chunk };
    }
    this.#pending.push(chunk);
    const bytes = Buffer.concat(this.#pending);
    const nul = bytes.indexOf(0);
    if (nul < 0 || bytes.length < nul + DELIMITER_LENGTH) {
      this.#pending = [bytes];
      return {};
    }
    if (!bytes.subarray(nul, nul + DELIMITER_LENGTH).every((b) => b === 0)) throw new Error('malformed prelude delimiter');
    const prelude = JSON.parse(bytes.subarray(0, nul).toString('utf8')) as {
      statusCode?: number;
      headers?: Record<string, string>;
      cookies?: string[];
    };
    this.#pending = [];
    this.#head = { statusCode: prelude.statusCode ?? 200, headers: prelude.headers ?? {}, cookies: prelude.cookies ?? [] };
    const rest = bytes.subarray(nul + DELIMITER_LENGTH);
    return rest.length > 0 ? { head: this.#head, body: rest } : { head: this.#head };
  }

  /** At the end: a stream that never wrote (or wrote only part of a prelude) is a plain 200. */
  finish(contentType: string): DecodedHead | undefined {
    if (this.#head !== undefined) return undefined;
    this.#head = plainHead(contentType === PRELUDE_CONTENT_TYPE ? DEFAULT_CONTENT_TYPE : contentType);
    return this.#head;
  }
}

/** A whole runtime byte stream decoded at once, for answers kept in memory (invoke local, tests, the bench). */
export function decodeRuntimeBytes(
  chunks: Buffer | readonly Buffer[],
  contentType: string,
): { readonly head: DecodedHead; readonly body: Buffer } {
  const decoder = new PreludeDecoder();
  const body: Buffer[] = [];
  for (const chunk of Buffer.isBuffer(chunks) ? [chunks] : chunks) {
    const out = decoder.push(chunk, contentType);
    if (out.body) body.push(out.body);
  }
  const head = decoder.finish(contentType) ?? decoder.head;
  if (head === undefined) throw new Error('the response stream produced no head');
  return { head, body: Buffer.concat(body) };
}

/** What HttpResponseStream.from's first two writes add up to: JSON.stringify(prelude), then 8 NUL bytes. */
export function preludeBytes(prelude: Record<string, unknown>): Buffer {
  return Buffer.concat([Buffer.from(JSON.stringify(prelude)), Buffer.alloc(DELIMITER_LENGTH)]);
}

function plainHead(contentType: string): DecodedHead {
  return { statusCode: 200, headers: { 'content-type': contentType }, cookies: [] };
}
