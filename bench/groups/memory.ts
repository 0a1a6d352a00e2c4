import type { BenchFile } from '../lib/data';
import type { Cleanup } from '../lib/cleanup';
import { manyAbort, manyWhole } from '../lib/http-clients';
import { peakDuring, status, type PeakResult } from '../lib/memory';
import { formatBytes } from '../lib/profile';
import { startLean, startOurs, streamUrl, type RunningServer } from '../lib/servers';
import { alternate, summarize } from '../lib/stats';
import type { BenchContext, BenchGroup, Row } from '../lib/types';

const GROUP = 'local: memory of the serving process';
const MB_LIMIT = 128;
const FLAT = 1.1;

type Scenario = 'whole' | 'abort';

interface Subject {
  readonly label: string;
  /**
   * Whether the 128 MB target applies. It is about the function fitting Lambda's smallest memory
   * size, so it applies to the handler served alone; `serverless offline` is a development server
   * whose framework alone holds about 300 MB before any request, reported for what `npm start` costs.
   */
  readonly lambdaSized: boolean;
  readonly start: (cleanup: Cleanup, dir: string, workDir: string) => Promise<RunningServer>;
}

/** What is measured: the process `npm start` runs, then the same serving path without the framework. */
const SUBJECTS: readonly Subject[] = [
  { label: 'npm start (osls)', lambdaSized: false, start: (cleanup, dir) => startOurs(cleanup, dir) },
  { label: 'url-server + handler alone', lambdaSized: true, start: (cleanup, dir, workDir) => startLean(cleanup, dir, workDir) },
];

const mb = (m: number) => m.toFixed(1);

async function measureSubject(subject: Subject, { profile, files, cleanup, log, signal }: BenchContext): Promise<Row[]> {
  const server = await subject.start(cleanup, files.dir, files.root);
  try {
    const idleMb = (status(server.pid).rssKb * 1024) / 1e6;
    const timeout = profile.measurementTimeoutMs;
    const load = (scenario: Scenario, file: BenchFile) => async () => {
      const url = streamUrl(server, file.name);
      if (scenario === 'whole') await manyWhole(url, file.size, profile.memoryWholeClients, timeout);
      else await manyAbort(url, file.size, profile.memoryAbortClients, Math.min(1024 * 1024, file.size / 2), timeout);
    };
    // Unmeasured: the first requests load and compile the handler's code paths.
    await load('whole', files.small)();
    await load('abort', files.small)();

    const sizes = { small: files.small, big: files.whole } as const;
    const measure = (scenario: Scenario) =>
      alternate(['small', 'big'] as const, profile.memoryRounds, (which) => {
        signal.throwIfAborted();
        return peakDuring(server.pid, load(scenario, sizes[which]));
      }, (which, round, m) => log(`  ${subject.label}: ${scenario} ${formatBytes(sizes[which].size)} round ${round + 1}: peak ${mb(m.peakMb)} MB (${m.source}), ${mb(m.beforeMb)} MB before`));
    const whole = await measure('whole');
    const abort = await measure('abort');

    const peer = `same, ${formatBytes(files.small.size)} file`;
    const row = (id: string, what: string, samples: { small: PeakResult[]; big: PeakResult[] }): Row => {
      const big = samples.big.map((m) => m.peakMb);
      const small = samples.small.map((m) => m.peakMb);
      const ours = summarize(big);
      const ratio = summarize(big.map((b, i) => b / small[i]!));
      const growth = summarize(samples.big.map((m) => m.peakMb - m.beforeMb));
      return {
        group: GROUP,
        id,
        label: `${subject.label}: peak RSS, ${what}`,
        unit: 'MB',
        better: 'lower',
        ratioMeaning: `${formatBytes(files.whole.size)} / ${formatBytes(files.small.size)}`,
        ours,
        peers: [{ name: peer, value: summarize(small), ratio }],
        targets: [
          ...(subject.lambdaSized ? [{ maxValue: MB_LIMIT, text: `<= ${MB_LIMIT} MB`, pass: ours.median <= MB_LIMIT }] : []),
          { peer, maxRatio: FLAT, text: `<= ${FLAT}x`, pass: ratio.median <= FLAT },
        ],
        note: `${subject.label}: idle RSS ${mb(idleMb)} MB; peak minus RSS just before the load (${formatBytes(files.whole.size)}): ${mb(growth.median)} MB [${mb(growth.min)}–${mb(growth.max)}]`,
      };
    };
    const key = subject.label.startsWith('npm') ? 'ours' : 'lean';
    return [
      row(`mem-${key}-whole`, `${profile.memoryWholeClients} clients stream the whole ${formatBytes(files.whole.size)} file`, whole),
      row(`mem-${key}-abort`, `${profile.memoryAbortClients} clients abort mid-stream (${formatBytes(files.whole.size)} file)`, abort),
    ];
  } finally {
    await server.stop();
  }
}

export const memoryGroup: BenchGroup = {
  id: 'memory',
  name: GROUP,
  describe: (profile) => [
    `memory: peak RSS (VmHWM after \`echo 5 > /proc/PID/clear_refs\`, and VmRSS sampled every 10 ms) of the serving process (a fresh one for this group) while ${profile.memoryWholeClients} clients GET the whole file at once, and while ${profile.memoryAbortClients} clients GET it and hang up after min(1 MiB, size/2); ${formatBytes(profile.wholeSize)} (the largest file the handler sends whole) vs ${formatBytes(profile.smallSize)} file, alternating, ${profile.memoryRounds} rounds. Processes: the node process running \`serverless offline\` (what \`npm start\` runs), and for comparison bench/peers/lean-url-server.ts bundled by esbuild and run by plain node (local/url-server.ts + handlers/stream.ts without the framework)`,
  ],
  async run(context: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    for (const subject of SUBJECTS) rows.push(...(await measureSubject(subject, context)));
    return rows;
  },
};
