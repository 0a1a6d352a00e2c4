import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { proxyResultBody } from '../handlers/buffered-response';
import { decodeRuntimeBytes, installRuntimeGlobal, isStreamingHandler, RuntimeResponseStream, type DecodedHead } from './lambda-runtime';

/** A streaming handler's whole answer, decoded as a Function URL would decode it. */
export interface CapturedResponse {
  readonly head: DecodedHead;
  readonly body: Buffer;
  /** True if the stream was destroyed before it ended: the client would have seen a cut response. */
  readonly aborted: boolean;
}

/** A runtime response stream that keeps what is written, for invoke local and for tests. */
export function captureResponseStream(): { stream: RuntimeResponseStream; result: () => CapturedResponse; raw: () => Buffer; contentType: () => string } {
  const chunks: Buffer[] = [];
  let contentType = '';
  let aborted = false;
  const stream = new RuntimeResponseStream({
    write(chunk, type, done) {
      contentType = type;
      chunks.push(Buffer.from(chunk));
      done();
    },
    end(type, done) {
      contentType = type;
      done();
    },
    abort() {
      aborted = true;
    },
  });
  const result = (): CapturedResponse => ({ ...decodeRuntimeBytes(chunks, contentType), aborted });
  return { stream, result, raw: () => Buffer.concat(chunks), contentType: () => contentType };
}

/**
 * Runs a streaming handler from its built module and returns the answer in the buffered Function
 * URL shape, which is what `serverless invoke local` prints (binary bodies base64-encoded).
 */
export async function invokeBuffered(file: string, exportName: string, event: unknown, context: Context) {
  installRuntimeGlobal();
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exportName];
  if (!isStreamingHandler(handler)) throw new Error(`${file}: ${exportName} is not a streaming handler`);
  const capture = captureResponseStream();
  await handler(event, capture.stream, context);
  // Without a prelude the handler answered in the buffered proxy format already (API Gateway).
  if (capture.contentType() === 'application/json') return JSON.parse(capture.raw().toString('utf8')) as unknown;
  const { head, body } = capture.result();
  return {
    statusCode: head.statusCode,
    headers: head.headers,
    ...(head.cookies.length > 0 ? { cookies: head.cookies } : {}),
    // As the handler encodes its own buffered answers (handlers/buffered-response.ts).
    ...proxyResultBody(body, head.headers['content-type']),
  };
}
