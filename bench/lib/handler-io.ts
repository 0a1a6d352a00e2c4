import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { PRELUDE_CONTENT_TYPE, preludeBytes, PreludeDecoder, RuntimeResponseStream, type ByteSink, type StreamingHandler } from '../../local/lambda-runtime';
import { localContext, urlEventFromRequest } from '../../local/url-event';
import { STREAM_PREFIX } from '../../core/route';

/**
 * The handler's side of the in-process, S3 and cold-start groups: a runtime sink that counts body
 * bytes and keeps none, Function URL events, and the same sink fed by a bare stream for the peers.
 * Also bundled into the cold-start child (bench/lib/cold-start-child.ts), so it imports nothing but
 * local/, core/route.ts (the path the function serves) and node:.
 */
export class CountingSink implements ByteSink {
  readonly #decoder = new PreludeDecoder();
  status = 0;
  bytes = 0;
  aborted = false;

  write(chunk: Buffer, contentType: string, done: (error?: Error | null) => void): void {
    const out = this.#decoder.push(chunk, contentType);
    if (out.head) this.status = out.head.statusCode;
    if (out.body) this.bytes += out.body.length;
    done();
  }

  end(contentType: string, done: (error?: Error | null) => void): void {
    const head = this.#decoder.finish(contentType);
    if (head) this.status = head.statusCode;
    done();
  }

  abort(): void {
    this.aborted = true;
  }
}

export interface Answer {
  readonly status: number;
  readonly bytes: number;
  readonly aborted: boolean;
}

/**
 * Function URL events as local/url-event.ts shapes them, made once per file and method: what a
 * request costs the Function URL front end is not the handler's, so each call only sets headers.
 */
const templates = new Map<string, LambdaFunctionURLEvent>();
const context = localContext('stream', 900, 512);

export function urlEvent(fileName: string, method: 'GET' | 'HEAD' = 'GET', headers: Readonly<Record<string, string>> = {}): LambdaFunctionURLEvent {
  const key = `${method} ${fileName}`;
  let template = templates.get(key);
  if (template === undefined) {
    const headersDistinct = { host: ['localhost'], 'user-agent': ['bench'] };
    const req = { url: `${STREAM_PREFIX}${encodeURIComponent(fileName)}`, method, headersDistinct, httpVersion: '1.1', socket: { remoteAddress: '127.0.0.1' } };
    template = urlEventFromRequest(req as unknown as IncomingMessage);
    templates.set(key, template);
  }
  return Object.keys(headers).length === 0 ? template : { ...template, headers: { ...template.headers, ...headers } };
}

/** One invocation through the runtime emulation (RuntimeResponseStream) into a CountingSink. */
export async function invoke(handler: StreamingHandler, event: LambdaFunctionURLEvent): Promise<Answer> {
  const sink = new CountingSink();
  await handler(event, new RuntimeResponseStream(sink), context);
  return { status: sink.status, bytes: sink.bytes, aborted: sink.aborted };
}

/** A body stream into the same sink, after the same prelude: the peers differ only in what produces the bytes. */
export async function drainToSink(body: Readable, status: number): Promise<Answer> {
  const sink = new CountingSink();
  sink.write(preludeBytes({ statusCode: status }), PRELUDE_CONTENT_TYPE, () => undefined);
  await pipeline(body, new Writable({ write: (chunk: Buffer, _encoding, callback) => sink.write(chunk, PRELUDE_CONTENT_TYPE, callback) }));
  return { status: sink.status, bytes: sink.bytes, aborted: sink.aborted };
}

export function expectAnswer(what: string, answer: Answer, status: number, bytes: number): void {
  if (answer.status !== status || answer.bytes !== bytes || answer.aborted) {
    throw new Error(`${what}: ${answer.status}, ${answer.bytes} bytes${answer.aborted ? ', aborted' : ''}; expected ${status}, ${bytes} bytes`);
  }
}

/** A byte window of a file or object, inclusive. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/**
 * One GET through the handler into a counting sink: 206 with exactly the window's bytes, or 200
 * with the whole object. Returns the body bytes.
 */
export async function viaHandler(handler: StreamingHandler, object: { readonly name: string; readonly size: number }, window?: Window): Promise<number> {
  const headers: Record<string, string> = window === undefined ? {} : { range: `bytes=${window.start}-${window.end}` };
  const expected = window === undefined ? object.size : window.end - window.start + 1;
  expectAnswer(`handler ${object.name}`, await invoke(handler, urlEvent(object.name, 'GET', headers)), window === undefined ? 200 : 206, expected);
  return expected;
}
