/**
 * The handlers the conformance test runs under both runtimes: the real one, and small ones that
 * each take one path through the runtime's response stream. Bundled once (test/ric/bundle.ts) and
 * loaded from the same file by the emulation and by aws-lambda-ric, so both run the same code.
 * Each prelude asks for 206 and a header, so that a lost prelude shows.
 */
import { Readable, type Writable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { writeStreamingResponse } from '../../handlers/response-stream';

export { handler as real } from '../../handlers/stream';

const PRELUDE = { statusCode: 206, headers: { 'content-type': 'text/plain', 'x-variant': 'yes' } };

type Body = (stream: Writable, context: Context) => Promise<void> | void;
const variant = (body: Body) =>
  awslambda.streamifyResponse(async (_event: unknown, stream: Writable, context: Context) => body(stream, context));
const prelude = (stream: Writable) => awslambda.HttpResponseStream.from(stream, PRELUDE);
const written = (stream: Writable, chunk: string | Uint8Array) =>
  new Promise<void>((resolve, reject) => stream.write(chunk, (error) => (error ? reject(error) : resolve())));

export const writesNothing = variant((stream) => {
  prelude(stream).end();
});

export const endsWithChunk = variant((stream) => {
  prelude(stream).end('xyz');
});

export const emptyChunkThenEnd = variant((stream) => {
  const out = prelude(stream);
  out.write('');
  out.end();
});

export const severalChunks = variant(async (stream) => {
  const out = prelude(stream);
  for (const chunk of ['a', 'bb', 'x'.repeat(100_000), new Uint8Array([0, 1, 2, 0]), 'ccc']) await written(out, chunk);
  out.end();
});

export const withoutPrelude = variant((stream) => {
  stream.write('no prelude');
  stream.end();
});

export const throwsBeforeWrite = variant(() => {
  throw new TypeError('thrown before the first write');
});

export const throwsAfterPreludeSet = variant((stream) => {
  prelude(stream);
  throw new TypeError('thrown after HttpResponseStream.from, before any write');
});

export const throwsAfterWrite = variant(async (stream) => {
  await written(prelude(stream), 'abc');
  throw new RangeError('thrown after the first write');
});

export const destroysAfterWrite = variant(async (stream) => {
  await written(prelude(stream), 'abc');
  stream.destroy();
});

export const destroysBeforeWrite = variant((stream) => {
  prelude(stream).destroy();
});

/** The real handler's writer (handlers/response-stream.ts) with a body that fails mid-way, as storage can. */
export const bodyFailsMidway = variant(async (stream) => {
  const body = new Readable({
    read() {
      this.push('first bytes');
      this.destroy(new Error('storage failed mid-body'));
    },
  });
  await writeStreamingResponse(stream, { status: 200, headers: { 'content-type': 'video/mp4', 'content-length': '100' }, body });
});

/** Resolves first, writes after: the runtime waits for the stream, not for the promise. */
export const endsAfterReturning = variant((stream) => {
  const out = prelude(stream);
  setTimeout(() => {
    out.write('late');
    out.end();
  }, 100);
});

/** Never ends its stream: the invocation runs into the function's timeout. */
export const neverEnds = variant(async (stream) => {
  await written(prelude(stream), 'abc');
});

/** What the context offers, names and values that do not change from one invocation to the next. */
export const writesContext = variant((stream, context) => {
  const remaining = context.getRemainingTimeInMillis();
  const described = {
    keys: Object.keys(context).sort(),
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    awsRequestIdIsUuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(context.awsRequestId),
    remainingWithinTimeout: remaining > 0 && remaining <= 2000,
  };
  const out = prelude(stream);
  out.write(JSON.stringify(described));
  out.end();
});
