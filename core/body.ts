import { Readable, Transform, type TransformCallback } from 'node:stream';
import { CHUNK_SIZE, type ByteWindow, type StoredObject } from '../storage/types';
import type { MultipartPart } from './plan';

/**
 * Passes a window's bytes through and fails the stream if fewer or more arrive than the window
 * holds. A file truncated while it is read, or a storage connection cut cleanly, would otherwise
 * end the response normally, and with Lambda's chunked encoding the client would take a short body
 * for a complete one. Failing instead makes every adapter abort the response.
 * Larger chunks (a socket may deliver more at once) are split into 64 KiB writes, without copying.
 */
export function exactly(window: ByteWindow, source: Readable): Readable {
  const expected = window.end - window.start + 1;
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > expected) {
        callback(new Error(`storage sent more than the ${expected} bytes asked for`));
        return;
      }
      let at = 0;
      for (; chunk.length - at > CHUNK_SIZE; at += CHUNK_SIZE) this.push(chunk.subarray(at, at + CHUNK_SIZE));
      callback(null, at === 0 ? chunk : chunk.subarray(at));
    },
    flush(callback: TransformCallback) {
      callback(seen === expected ? null : new Error(`storage ended after ${seen} of ${expected} bytes`));
    },
  });
  // The source's errors fail the check stream; destroying the check stream destroys the source.
  source.once('error', (error) => check.destroy(error));
  check.once('close', () => source.destroy());
  return source.pipe(check);
}

export function readWindow(object: StoredObject, window: ByteWindow): Readable {
  const { exact } = object;
  // Asked before `read`, which may use up what made the window exact (S3's prefetched body).
  const known = typeof exact === 'function' ? exact(window) : exact === true;
  return known ? object.read(window) : exactly(window, object.read(window));
}

/** The parts one after the other, each read only when the previous one is done. */
export function multipartBody(object: StoredObject, parts: readonly MultipartPart[], closing: string): Readable {
  async function* generate() {
    for (const part of parts) {
      yield Buffer.from(part.head, 'latin1');
      // for-await destroys the part's stream if the consumer stops early.
      for await (const chunk of readWindow(object, part.window)) yield chunk as Buffer;
    }
    yield Buffer.from(closing, 'latin1');
  }
  return Readable.from(generate(), { objectMode: false });
}
