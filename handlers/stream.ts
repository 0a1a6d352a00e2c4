import type { Writable } from 'node:stream';
import { serveStream } from '../core/serve';
import { storageFromEnv } from '../storage/from-env';
import { writeBufferedResponse } from './buffered-response';
import { serveOptionsFromEnv } from './config';
import { requestFromEvent, responseModeOf, type HttpEvent } from './events';
import { writeStreamingResponse } from './response-stream';

// Once per container, at init: every invocation reuses the backend (and the S3 client's sockets).
// A bad configuration fails here, with its message in the init log, not on the first request.
const storage = await storageFromEnv(process.env);
const options = serveOptionsFromEnv(process.env);
if (options.streaming.signingSecret === undefined) {
  console.warn('SIGNING_SECRET is not set: every file is served to anyone who knows its name');
}

/**
 * GET|HEAD /api/stream/{filename}: behind a Function URL with InvokeMode RESPONSE_STREAM, or an
 * API Gateway REST route (streamed or buffered), or an HTTP API (buffered).
 */
export const handler = awslambda.streamifyResponse<HttpEvent>(async (event, responseStream: Writable) => {
  const request = requestFromEvent(event);
  if (responseModeOf(event, process.env) === 'stream') {
    await writeStreamingResponse(responseStream, await serveStream(request, storage, options.streaming));
  } else {
    await writeBufferedResponse(responseStream, await serveStream(request, storage, options.buffered));
  }
});
