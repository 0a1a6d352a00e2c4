import type { Context } from 'aws-lambda';
import { PreludeDecoder, RuntimeResponseStream, type DecodedHead } from '../../local/lambda-runtime';

/** What reached the Runtime API: the raw bytes, the content type, and how the stream ended. */
export interface Capture {
  readonly stream: RuntimeResponseStream;
  readonly raw: () => Buffer;
  readonly contentType: () => string;
  /** The HTTP answer a Function URL makes of it. */
  readonly decoded: () => { head: DecodedHead; body: Buffer };
  readonly aborted: () => boolean;
}

export function captureRuntimeStream(): Capture {
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
  return {
    stream,
    raw: () => Buffer.concat(chunks),
    contentType: () => contentType,
    aborted: () => aborted,
    decoded: () => {
      const decoder = new PreludeDecoder();
      const body: Buffer[] = [];
      let head: DecodedHead | undefined;
      for (const chunk of chunks) {
        const out = decoder.push(chunk, contentType);
        head ??= out.head;
        if (out.body) body.push(out.body);
      }
      head ??= decoder.finish(contentType);
      if (!head) throw new Error('no head');
      return { head, body: Buffer.concat(body) };
    },
  };
}

export const fakeContext = { functionName: 'test', getRemainingTimeInMillis: () => 30_000 } as Context;
