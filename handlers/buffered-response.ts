import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { StreamResponse } from '../core/serve';
import type { Progress } from './response-stream';

const TEXTUAL = /^(application\/json|text\/)/;

/**
 * A body as a buffered proxy result carries it: JSON and text as they are, anything else in base64
 * (API Gateway and Function URLs decode it back to the bytes). Also what `serverless invoke local`
 * prints of a streamed answer (local/buffered-invoke.ts).
 */
export function proxyResultBody(body: Buffer, contentType: string | undefined): { body: string; isBase64Encoded: boolean } {
  const textual = TEXTUAL.test(contentType ?? '');
  return { body: textual ? body.toString('utf8') : body.toString('base64'), isBase64Encoded: !textual };
}

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
  const result: APIGatewayProxyResult = {
    statusCode: response.status,
    headers: response.headers,
    ...proxyResultBody(body, response.headers['content-type']),
  };
  responseStream.setContentType?.('application/json');
  await pipeline(Readable.from([JSON.stringify(result)]), responseStream);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
