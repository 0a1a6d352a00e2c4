import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { StreamResponse } from '../core/serve';
import type { Progress } from './response-stream';

const TEXTUAL = /^(application\/json|text\/)/;

/**
 * Writes an answer as one buffered proxy result ({statusCode, headers, body, isBase64Encoded}) for
 * integrations that do not stream: the bytes written without a prelude are the invocation's
 * payload. The core has already kept the body within the buffered limit.
 */
export async function writeBufferedResponse(
  responseStream: Writable & { setContentType?: (type: string) => void },
  response: StreamResponse,
  progress?: Progress,
): Promise<void> {
  const body = response.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(response.body) ? response.body : await collect(response.body);
  if (progress !== undefined && body.length > 0) {
    progress.bytes = body.length;
    progress.firstByteAt = performance.now();
  }
  const textual = TEXTUAL.test(response.headers['content-type'] ?? '');
  const result: APIGatewayProxyResult = {
    statusCode: response.status,
    headers: response.headers,
    body: textual ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !textual,
  };
  responseStream.setContentType?.('application/json');
  await pipeline(Readable.from([JSON.stringify(result)]), responseStream);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
