import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StreamResponse } from '../core/serve';

const NOTHING = new Uint8Array(0);

/**
 * Writes an answer through Lambda response streaming: status and headers in the runtime's prelude,
 * then the body with backpressure. Resolves once the stream has finished; rejects (after the
 * response stream was destroyed, which cuts the client's response short) if the body failed.
 */
export async function writeStreamingResponse(responseStream: Writable, response: StreamResponse): Promise<void> {
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
  await pipeline(source, out);
}
