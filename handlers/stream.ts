import { Readable, type Writable } from 'node:stream';
import { serveStream, type StreamResponse } from '../core/serve';
import { storageFromEnv } from '../storage/from-env';
import type { Storage } from '../storage/types';
import { accessLogLine, type AccessRecord } from './access-log';
import { writeBufferedResponse } from './buffered-response';
import { accessWarnings, serveOptionsFromEnv } from './config';
import { requestFromEvent, responseModeOf, type HttpEvent } from './events';
import { writeStreamingResponse, type Progress } from './response-stream';

// Once per container, at init: every invocation reuses the backend (and the S3 client's sockets).
// A bad configuration fails here, with its message in the init log, not on the first request.
const storage = await storageFromEnv(process.env);
const options = serveOptionsFromEnv(process.env);
const accessLog = process.env.ACCESS_LOG !== 'off';
for (const warning of accessWarnings(options.streaming)) console.warn(warning);

/**
 * GET|HEAD /api/stream/{filename}: behind a Function URL with InvokeMode RESPONSE_STREAM, or an
 * API Gateway REST route (streamed or buffered), or an HTTP API (buffered). One access log line
 * per request (handlers/access-log.ts), written when the answer is done or has failed.
 */
export const handler = awslambda.streamifyResponse<HttpEvent>(async (event, responseStream: Writable, context) => {
  const started = performance.now();
  const request = requestFromEvent(event);
  const timed = timedStorage(storage);
  const progress: Progress = { bytes: 0, firstByteAt: undefined };
  let response: StreamResponse | undefined;
  let completed = false;
  try {
    const streaming = responseModeOf(event, process.env) === 'stream';
    response = await serveStream(request, timed.storage, streaming ? options.streaming : options.buffered);
    await (streaming ? writeStreamingResponse : writeBufferedResponse)(responseStream, response, progress);
    completed = true;
  } catch (error) {
    // The writers destroy a body that fails once it is piped, but a throw before (the runtime
    // refusing the prelude) leaves it unread, holding its file descriptor or S3 socket.
    if (response?.body instanceof Readable) response.body.destroy();
    throw error;
  } finally {
    if (accessLog) {
      const record: AccessRecord = {
        requestId: context.awsRequestId,
        request,
        // No answer at all is what the runtime turns into a 502.
        status: response?.status ?? 502,
        contentRange: response?.headers['content-range'],
        bytes: progress.bytes,
        completed,
        durationMs: performance.now() - started,
        storageMs: timed.ms(),
        firstByteMs: progress.firstByteAt === undefined ? undefined : progress.firstByteAt - started,
        note: response?.note,
      };
      process.stdout.write(`${accessLogLine(record, new Date())}\n`);
    }
  }
});

/** The storage, timing this request's calls to it (a wrapper per request: invocations may overlap locally). */
function timedStorage(inner: Storage): { storage: Storage; ms: () => number | undefined } {
  let total: number | undefined;
  const storage: Storage = {
    async open(key, intent) {
      const started = performance.now();
      try {
        return await inner.open(key, intent);
      } finally {
        total = (total ?? 0) + performance.now() - started;
      }
    },
    ...(inner.presign === undefined ? {} : { presign: inner.presign.bind(inner) }),
  };
  return { storage, ms: () => total };
}
