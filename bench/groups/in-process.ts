import { createReadStream } from 'node:fs';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from '../../local/lambda-runtime';
import { randomWindow, type BenchFile } from '../lib/data';
import { drainToSink, expectAnswer, viaHandler } from '../lib/handler-io';
import { megabytesPerSecond, requestsPerSecond } from '../lib/measure';
import { formatBytes } from '../lib/profile';
import { throughputRow } from '../lib/rows';
import { alternate } from '../lib/stats';
import type { BenchContext, BenchGroup, Row } from '../lib/types';

const GROUP = 'local: handler in process';
const PEER = 'fs.createReadStream';

/** The real handler module (handlers/stream.ts), loaded as Lambda loads it: runtime global first. */
export async function loadHandler(downloadsDir: string): Promise<StreamingHandler> {
  process.env.DOWNLOADS_DIR = downloadsDir;
  process.env.STORAGE = 'local';
  // As in groups/s3.ts: the access log line would go to the bench's stdout; the HTTP rows pay it.
  process.env.ACCESS_LOG = 'off';
  installRuntimeGlobal();
  const module = (await import('../../handlers/stream')) as { handler?: unknown };
  if (!isStreamingHandler(module.handler)) throw new Error('handlers/stream.ts does not export a streaming handler');
  return module.handler;
}

/** The physical limit of this path: the same bytes from fs.createReadStream into the same sink. */
export async function viaReadStream(file: BenchFile, window?: { start: number; end: number }): Promise<number> {
  const options = window === undefined ? {} : { start: window.start, end: window.end };
  const expected = window === undefined ? file.size : window.end - window.start + 1;
  expectAnswer('read stream', await drainToSink(createReadStream(file.path, options), 200), 200, expected);
  return expected;
}

export const inProcessGroup: BenchGroup = {
  id: 'inproc',
  name: GROUP,
  describe: (profile) => [
    `in process: handlers/stream.ts (after installRuntimeGlobal(), DOWNLOADS_DIR=<bench dir>, ACCESS_LOG=off) into a byte-counting RuntimeResponseStream sink, vs fs.createReadStream -> the same sink; whole ${formatBytes(profile.wholeSize)} file and random ${formatBytes(profile.rangeSize)} ranges of the ${formatBytes(profile.bigSize)} file, page cache warm`,
  ],
  async run({ profile, files, log, signal }: BenchContext): Promise<Row[]> {
    const handler = await loadHandler(files.dir);
    const file = files.whole;
    const big = files.big;
    // One unmeasured pass each: JIT, page cache, file descriptors.
    await viaReadStream(file);
    await viaHandler(handler, file);
    // Each whole-file sample reads the file this many times (at least 512 MiB), for a steadier figure.
    const repeats = profile.name === 'quick' ? 1 : Math.ceil((512 * 1024 * 1024) / file.size);

    type C = typeof PEER | 'ours';
    const contenders: C[] = [PEER, 'ours'];

    const whole = await alternate(contenders, profile.rounds, (c) => {
      signal.throwIfAborted();
      return megabytesPerSecond(repeats, () => (c === 'ours' ? viaHandler(handler, file) : viaReadStream(file)));
    }, (c, round, v) => log(`  whole ${formatBytes(file.size)} x${repeats} round ${round + 1} ${c}: ${v.toFixed(0)} MB/s`));

    const rangeRound = (c: C) => {
      signal.throwIfAborted();
      return requestsPerSecond(profile.inProcessRangeMs, profile.inProcessRangeMaxRequests, () => {
        const window = randomWindow(big.size, profile.rangeSize);
        return c === 'ours' ? viaHandler(handler, big, window) : viaReadStream(big, window);
      });
    };
    const ranges = await alternate(contenders, profile.rounds, rangeRound, (c, round, v) =>
      log(`  ${formatBytes(profile.rangeSize)} ranges round ${round + 1} ${c}: ${v.toFixed(0)} req/s`),
    );

    const row = (id: string, label: string, unit: string, samples: Record<C, number[]>) => throughputRow(GROUP, PEER, id, label, unit, samples);
    return [
      row('inproc-whole', `whole ${formatBytes(file.size)} file`, 'MB/s', whole),
      row('inproc-range', `random ${formatBytes(profile.rangeSize)} range of the ${formatBytes(big.size)} file, sequential`, 'req/s', ranges),
    ];
  },
};
