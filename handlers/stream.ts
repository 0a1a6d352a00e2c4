import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { serveStream } from '../core/serve';
import { storageFromEnv } from '../storage/from-env';
import { requestFromUrlEvent } from './function-url';
import { writeStreamingResponse } from './response-stream';

// Once per container, at init: every invocation reuses the backend (and the S3 client's sockets).
const storage = await storageFromEnv(process.env);

/** GET|HEAD /api/stream/{filename} behind a Function URL with InvokeMode RESPONSE_STREAM. */
export const handler = awslambda.streamifyResponse<LambdaFunctionURLEvent>(async (event, responseStream) => {
  const response = await serveStream(requestFromUrlEvent(event), storage);
  await writeStreamingResponse(responseStream, response);
});
