import { Readable, type Writable } from 'node:stream';
import type { StreamResponse } from '../core/serve';

/** What the writers report as they go, for the access log: body bytes, and when the first left. */
export interface Progress {
  bytes: number;
  firstByteAt: number | undefined;
}

const NOTHING = new Uint8Array(0);

/**
 * Writes an answer through Lambda response streaming: status and headers in the runtime's prelude,
 * then the body with backpressure. Resolves once the stream has finished; rejects if the body
 * failed, and the handler's rejection then cuts the client's response short (see pump).
 */
export async function writeStreamingResponse(responseStream: Writable, response: StreamResponse, progress?: Progress): Promise<void> {
  const out = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: response.status,
    headers: response.headers,
  });
  // The runtime sends the prelude on the first write() only, and end() does not write: an answer
  // with no body bytes (HEAD, 304, an empty file) would lose its status and headers and arrive as
  // a plain 200 (aws-lambda-nodejs-runtime-interface-client issue #97). An empty chunk sends the
  // prelude now, which also gets the headers to the client before the first byte is read.
  out.write(NOTHING);
  const { body } = response;
  const source = body instanceof Readable ? body : Readable.from(body === undefined ? [] : [body]);
  if (progress !== undefined) {
    // A second 'data' listener beside pipe's: counting needs no stream stage of its own.
    source.on('data', (chunk: Buffer) => {
      progress.firstByteAt ??= performance.now();
      progress.bytes += chunk.length;
    });
  }
  await pump(source, out);
}

/**
 * stream.pipeline's semantics for one source and one sink, without its cost: pipeline makes an
 * AbortController per call and aborts it when done, and the DOMException that abort() builds (with
 * its stack) was the largest single item in the CPU profile of small range requests (`npm run
 * bench`, "Performance" in the README). Resolves when `out` has finished; if either side fails or
 * closes early, stops the storage read and rejects.
 */
function pump(source: Readable, out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    // The body failed: stop reading it and reject, leaving the response stream as it is. The runtime
    // then ends the response with its error trailers, which cuts the client's response short.
    // Destroying the stream instead makes the runtime client exit (aws-lambda-ric 4.0.2, so Lambda
    // starts a new environment), before the bytes already written have left
    // (test/ric/conformance.test.ts).
    const bodyFailed = (error: Error) => {
      if (settled) return;
      settled = true;
      source.unpipe(out);
      source.destroy();
      reject(error);
    };
    // The response stream failed or closed (locally: the client went away): stop reading the body.
    const outFailed = (error: Error) => {
      if (settled) return;
      settled = true;
      source.destroy();
      reject(error);
    };
    source.once('error', bodyFailed);
    out.once('error', outFailed);
    source.once('close', () => {
      if (!source.readableEnded) bodyFailed(new Error('the body closed before its end'));
    });
    out.once('close', () => {
      if (!out.writableFinished) outFailed(new Error('the response stream closed before the body was written'));
    });
    out.once('finish', () => {
      settled = true;
      resolve();
    });
    // Destroyed already (locally: the client went away while storage was opening), it emits no
    // 'close' any more, and the pipe would wait for a 'drain' that never comes, the body held open.
    if (out.destroyed) {
      outFailed(new Error('the response stream was destroyed before the body was written'));
      return;
    }
    source.pipe(out);
  });
}
