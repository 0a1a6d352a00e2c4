import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ricInstalled } from '../../local/ric';
import { MEDIA_REQUEST } from '../../support/user-agents';
import type { Cleanup } from '../lib/cleanup';
import { randomWindow, warm, type BenchFile } from '../lib/data';
import { urlEvent, type Window } from '../lib/handler-io';
import { packagedFunction, scrubbedEnv } from '../lib/package';
import { formatBytes, type Profile } from '../lib/profile';
import { cpuMs, RicRuntime, type RicFunction } from '../lib/ric-runtime';
import { handlerS3Env, sharedS3, upload } from '../lib/s3-server';
import { accessLogFile, PROJECT_ROOT, serverNodeFlags } from '../lib/servers';
import { ratios, summarize } from '../lib/stats';
import type { BenchContext, BenchGroup, Row } from '../lib/types';

const execFileAsync = promisify(execFile);
const GROUP = 'Lambda runtime client (aws-lambda-ric, Node.js 22)';
const PEER = 'createReadStream / GetObject handler';
const TARGET = 0.95;
const FILE_NAME = 'Bench_Ric__0b000000-0000-4000-8000-000000000006.mp4';
/** serverless.yml: handler handlers/stream.handler, and the function's memory and timeout. */
const OURS_HANDLER = 'handlers/stream.handler';
const PEER_HANDLER = 'ric-peer.handler';
const MEMORY_MB = 512;
const TIMEOUT_SECONDS = 120;
/** A media element's request in Chromium: the only kind that gets windows under the default policy. */
const MEDIA_HEADERS = { ...MEDIA_REQUEST, 'sec-fetch-mode': 'no-cors', accept: '*/*', 'accept-encoding': 'identity' };

type C = typeof PEER | 'ours';
const CONTENDERS: readonly C[] = [PEER, 'ours'];

/** One round of one contender: per invocation, the median time and the mean CPU (all threads). */
interface Sample {
  readonly ms: number;
  readonly cpuMs: number;
  /** The same CPU from utime+stime (10 ms ticks), as a check on schedstat. */
  readonly ticksCpuMs: number;
}

/**
 * The peer, built as serverless.yml has serverless-esbuild build ours (ESM for node22, code
 * splitting, the module builds of dependencies, the same minification and `require` banner).
 */
async function buildPeer(dir: string): Promise<void> {
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bench', 'peers', 'ric-peer.ts')],
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    splitting: true,
    mainFields: ['module', 'main'],
    minifyWhitespace: true,
    minifySyntax: true,
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
}

/** The file of these rows: the first ricFileSize bytes of the big file, in the served folder. */
async function makeFile(profile: Profile, big: BenchFile, dir: string): Promise<BenchFile> {
  const path = join(dir, FILE_NAME);
  if (big.size < profile.ricFileSize) throw new Error(`ricFileSize ${profile.ricFileSize} exceeds the big file (${big.size})`);
  await pipeline(createReadStream(big.path, { end: profile.ricFileSize - 1 }), createWriteStream(path, { flush: true }));
  await warm(path);
  return { name: FILE_NAME, path, size: profile.ricFileSize };
}

async function ensureRic(log: (m: string) => void): Promise<void> {
  if (ricInstalled()) return;
  log('  local/ric missing: node scripts/ensure-ric.mjs (about 2 minutes)');
  await execFileAsync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'ensure-ric.mjs')], { cwd: PROJECT_ROOT, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
  if (!ricInstalled()) throw new Error('scripts/ensure-ric.mjs ran but local/ric is still not installed');
}

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly invocations: number;
  /** The window of each invocation of a round (undefined: the whole file), the same for both contenders. */
  readonly windows: readonly (readonly (Window | undefined)[])[];
}

function windowScenario(id: string, label: string, profile: Profile, file: BenchFile, invocations: number): Scenario {
  const windows = Array.from({ length: profile.ricRounds }, () => Array.from({ length: invocations }, () => randomWindow(file.size, profile.ricWindow)));
  return { id, label, invocations, windows };
}

function wholeScenario(id: string, label: string, profile: Profile, invocations: number): Scenario {
  return { id, label, invocations, windows: Array.from({ length: profile.ricRounds }, () => Array.from({ length: invocations }, () => undefined)) };
}

/** One invocation's event and what it must get back. */
function request(file: BenchFile, window: Window | undefined) {
  if (window === undefined) return { event: urlEvent(file.name, 'GET'), status: 200, bytes: file.size };
  return { event: urlEvent(file.name, 'GET', { ...MEDIA_HEADERS, range: `bytes=${window.start}-${window.end}` }), status: 206, bytes: window.end - window.start + 1 };
}

async function invokeChecked(runtime: RicRuntime, name: string, file: BenchFile, window: Window | undefined): Promise<number> {
  const { event, status, bytes } = request(file, window);
  const answer = await runtime.invoke(event);
  if (answer.status !== status || answer.bytes !== bytes) throw new Error(`${name}: ${answer.status} with ${answer.bytes} bytes; expected ${status} with ${bytes}`);
  return answer.ms;
}

/** Both runtimes of one backend through every scenario, in alternating rounds. */
async function measure(
  runtimes: Record<C, RicRuntime>,
  file: BenchFile,
  scenarios: readonly Scenario[],
  { profile, log, signal }: Pick<BenchContext, 'profile' | 'log' | 'signal'>,
): Promise<Map<string, Record<C, Sample[]>>> {
  // Unmeasured: JIT, the page cache, the S3 client's sockets.
  for (const c of CONTENDERS) {
    for (let i = 0; i < profile.ricWarmup; i++) await invokeChecked(runtimes[c], c, file, randomWindow(file.size, profile.ricWindow));
    await invokeChecked(runtimes[c], c, file, undefined);
  }
  const out = new Map<string, Record<C, Sample[]>>();
  for (const scenario of scenarios) {
    const samples = { [PEER]: [] as Sample[], ours: [] as Sample[] } as Record<C, Sample[]>;
    for (const [round, windows] of scenario.windows.entries()) {
      signal.throwIfAborted();
      // Within a round the two take turns invocation by invocation, on the same windows, so that a
      // burst of other work on the machine falls on both alike; who goes first changes every time
      // (peer, ours, ours, peer …), since the second to read a window finds storage (Swift, its
      // caches and workers) in another state than the first.
      const times = { [PEER]: [] as number[], ours: [] as number[] } as Record<C, number[]>;
      const cpu = { [PEER]: { schedMs: 0, ticksMs: 0 }, ours: { schedMs: 0, ticksMs: 0 } } as Record<C, { schedMs: number; ticksMs: number }>;
      for (const [i, window] of windows.entries()) {
        for (const c of i % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse()) {
          const runtime = runtimes[c];
          await runtime.whenIdle();
          const before = runtime.cpu();
          times[c].push(await invokeChecked(runtime, c, file, window));
          // The runtime's work after the response (its 202, the next /next) belongs to the invocation.
          await runtime.whenIdle();
          const used = cpuMs(before, runtime.cpu());
          cpu[c].schedMs += used.schedMs;
          cpu[c].ticksMs += used.ticksMs;
        }
      }
      for (const c of CONTENDERS) {
        const sample = { ms: summarize(times[c]).median, cpuMs: cpu[c].schedMs / windows.length, ticksCpuMs: cpu[c].ticksMs / windows.length };
        samples[c].push(sample);
        log(`  ${scenario.id} round ${round + 1} ${c}: ${sample.ms.toFixed(2)} ms, CPU ${sample.cpuMs.toFixed(2)} ms (ticks ${sample.ticksCpuMs.toFixed(1)} ms) per invocation`);
      }
    }
    out.set(scenario.id, samples);
  }
  return out;
}

function rows(scenarios: readonly Scenario[], measured: Map<string, Record<C, Sample[]>>): Row[] {
  return scenarios.flatMap((scenario) => {
    const samples = measured.get(scenario.id)!;
    const metric = (id: string, label: string, of: (s: Sample) => number, note?: string): Row => {
      const ours = samples.ours.map(of);
      const peer = samples[PEER].map(of);
      const ratio = summarize(ratios(ours, peer, 'lower'));
      return {
        group: GROUP,
        id: `${scenario.id}-${id}`,
        label: `${scenario.label}: ${label}`,
        unit: 'ms',
        better: 'lower',
        ratioMeaning: 'peer/ours',
        ours: summarize(ours),
        peers: [{ name: PEER, value: summarize(peer), ratio }],
        targets: [{ peer: PEER, minRatio: TARGET, text: `>= ${TARGET}x ${PEER}`, pass: ratio.median >= TARGET }],
        ...(note === undefined ? {} : { note }),
      };
    };
    const ticks = (c: C) => summarize(samples[c].map((s) => s.ticksCpuMs)).median.toFixed(2);
    return [
      metric('time', `time per invocation (/next to the end of the response POST, median of ${scenario.invocations})`, (s) => s.ms),
      metric('cpu', `CPU per invocation (runtime process, all threads)`, (s) => s.cpuMs, `CPU from utime+stime (10 ms ticks) instead: ours ${ticks('ours')} ms, peer ${ticks(PEER)} ms per invocation`),
    ];
  });
}

type Start = Omit<RicFunction, 'fn' | 'output'>;

/** The two runtimes of one backend, and what stops both (early, or at the run's cleanup). */
async function startPair(cleanup: Cleanup, name: string, ours: Start, peer: Start): Promise<{ runtimes: Record<C, RicRuntime>; stop: () => Promise<void> }> {
  const nodeOptions = serverNodeFlags.length > 0 ? { nodeOptions: serverNodeFlags.join(' ') } : {};
  const stops: (() => Promise<void>)[] = [];
  const start = async (who: string, f: Start) => {
    const fn = { name: `${name}-${who}`, timeoutSeconds: TIMEOUT_SECONDS, memoryMb: MEMORY_MB };
    const runtime = await RicRuntime.start({ ...f, ...nodeOptions, fn, output: accessLogFile(cleanup, `ric-${name}-${who}`) });
    stops.push(cleanup.add(`ric ${name} ${who}`, () => runtime.stop()));
    return runtime;
  };
  const runtimes = { [PEER]: await start('peer', peer), ours: await start('ours', ours) } as Record<C, RicRuntime>;
  return { runtimes, stop: async () => void (await Promise.all(stops.map((stop) => stop()))) };
}

export const ricGroup: BenchGroup = {
  id: 'ric',
  usesS3: true,
  name: GROUP,
  describe: (profile) => [
    `ric: the packaged handler (stream.zip of \`serverless package\`, unzipped, ${OURS_HANDLER}, ACCESS_LOG on, its line to a file) and a peer handler (bench/peers/ric-peer.ts: streamifyResponse, HttpResponseStream.from, pipeline(fs.createReadStream(path, {start, end}) or the bare SDK's GetObject Body, stream), bundled with serverless.yml's esbuild options), each in its own aws-lambda-ric 4.0.2 process under Node.js 22 (local/ric) with its own Runtime API (local/runtime-api.ts), invoked by the bench directly through that API (no HTTP front end), one at a time, after ${profile.ricWarmup} unmeasured windows and one whole file each; Function URL events for a ${formatBytes(profile.ricFileSize)} file: closed ${formatBytes(profile.ricWindow)} ranges at random offsets with a Chromium <video>'s headers (Sec-Fetch-Dest: video, Chrome User-Agent; the same offsets for both in a round), and GET without Range (200, the whole file); local disk (page cache warm) and S3 (Swift, shared with the s3 group); ${profile.ricRounds} rounds of ${profile.ricWindowInvocations} / ${profile.ricWholeInvocations} (local) and ${profile.ricS3WindowInvocations} / ${profile.ricS3WholeInvocations} (S3) invocations each, the two taking turns invocation by invocation, who goes first alternating (peer, ours, ours, peer …); time: from answering /next to the end of the response POST, median per round; CPU: the runtime process's, all threads (/proc/<pid>/task/*/schedstat), from idle to idle, divided by the invocations`,
  ],
  async run({ profile, files, cleanup, log, signal }: BenchContext): Promise<Row[]> {
    await ensureRic(log);
    const pkg = await packagedFunction(cleanup, files.root, log);
    const peerDir = await mkdtemp(join(files.root, 'ric-peer-'));
    await buildPeer(peerDir);
    const file = await makeFile(profile, files.big, files.dir);
    const base = scrubbedEnv(pkg.noFile);
    const w = formatBytes(profile.ricWindow);
    const whole = formatBytes(file.size);

    const localScenarios = [
      windowScenario('ric-local-window', `local disk, ${w} window (closed Range, <video> headers)`, profile, file, profile.ricWindowInvocations),
      wholeScenario('ric-local-whole', `local disk, whole ${whole} file`, profile, profile.ricWholeInvocations),
    ];
    const localEnv = { ...base, STORAGE: 'local', DOWNLOADS_DIR: files.dir };
    const local = await startPair(cleanup, 'local', { taskRoot: pkg.unzipped, handler: OURS_HANDLER, env: localEnv }, { taskRoot: peerDir, handler: PEER_HANDLER, env: localEnv });
    const localMeasured = await measure(local.runtimes, file, localScenarios, { profile, log, signal });
    await local.stop();

    const s3 = await sharedS3(cleanup, log);
    await upload(s3, file.name, file.path, file.size);
    const s3Scenarios = [
      windowScenario('ric-s3-window', `S3 (Swift), ${w} window (closed Range, <video> headers)`, profile, file, profile.ricS3WindowInvocations),
      wholeScenario('ric-s3-whole', `S3 (Swift), whole ${whole} object`, profile, profile.ricS3WholeInvocations),
    ];
    const s3Env = { ...base, ...handlerS3Env(s3) };
    const remote = await startPair(cleanup, 's3', { taskRoot: pkg.unzipped, handler: OURS_HANDLER, env: s3Env }, { taskRoot: peerDir, handler: PEER_HANDLER, env: s3Env });
    const s3Measured = await measure(remote.runtimes, file, s3Scenarios, { profile, log, signal });
    await remote.stop();

    return [...rows(localScenarios, localMeasured), ...rows(s3Scenarios, s3Measured)];
  },
};
