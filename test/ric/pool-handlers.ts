/**
 * Handlers for test/ric/pool.test.ts, run by aws-lambda-ric in the pool's processes. Each answers
 * with what the test needs to see which process served it, and when.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

// Lets a test break the init of the processes started after it creates this file.
const breakInit = process.env.POOL_BREAK_INIT;
if (breakInit !== undefined && existsSync(breakInit)) throw new Error('init broken on purpose');

const answer = (stream: Writable, body: unknown) => {
  const out = awslambda.HttpResponseStream.from(stream, { statusCode: 200, headers: { 'content-type': 'application/json' } });
  out.write(JSON.stringify(body));
  out.end();
};

/** Takes 300 ms, then says which process it ran in and when. */
export const slow = awslambda.streamifyResponse(async (_event: unknown, stream: Writable) => {
  const started = Date.now();
  await sleep(300);
  answer(stream, { pid: process.pid, started, ended: Date.now() });
});

export const whoAmI = awslambda.streamifyResponse(async (_event: unknown, stream: Writable) => {
  answer(stream, { pid: process.pid });
});

/** The runtime process dies in the middle of an invocation. */
export const exits = awslambda.streamifyResponse(async () => {
  process.exit(3);
});

export const neverEnds = awslambda.streamifyResponse(async (_event: unknown, stream: Writable) => {
  awslambda.HttpResponseStream.from(stream, { statusCode: 200 }).write('started');
});

/** Writes for about a second, then leaves a mark (POOL_MARK) that it got to the end. */
export const runsOn = awslambda.streamifyResponse(async (_event: unknown, stream: Writable) => {
  const out = awslambda.HttpResponseStream.from(stream, { statusCode: 200 });
  for (let i = 0; i < 20; i += 1) {
    out.write(`chunk ${i}\n`);
    await sleep(50);
  }
  out.end();
  const mark = process.env.POOL_MARK;
  if (mark !== undefined) writeFileSync(mark, String(process.pid));
});
