import type { captureResponseStream } from '../../local/buffered-invoke';

/**
 * Status, headers and body of what a handler wrote into a captured response stream, whichever way
 * it answered: streamed (a prelude, then the body) or one buffered proxy result (application/json,
 * a binary body in base64), decoded as the Function URL or API Gateway would.
 */
export function answerOf(capture: ReturnType<typeof captureResponseStream>): {
  mode: 'stream' | 'buffered';
  status: number;
  headers: Record<string, string>;
  body: Buffer;
} {
  if (capture.contentType() === 'application/json') {
    const result = JSON.parse(capture.raw().toString()) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
      isBase64Encoded: boolean;
    };
    return {
      mode: 'buffered',
      status: result.statusCode,
      headers: result.headers,
      body: Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'),
    };
  }
  const { head, body } = capture.result();
  return { mode: 'stream', status: head.statusCode, headers: head.headers, body };
}
