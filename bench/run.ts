/**
 * `npm run bench [-- --quick] [--only=inproc,s3,coldstart,ric,http,memory] [--cpu-prof-dir=DIR]`: the performance
 * comparison of issue 6. --cpu-prof-dir writes V8 CPU profiles of the Node.js servers (and of the ric group's runtime processes) there (read
 * them with bench/tools/cpu-top.ts); profile the in-process rows with `node --cpu-prof --import tsx bench/run.ts --only=inproc`.
 * Every figure is measured against peers in the same run, in alternating rounds; see "Performance"
 * in the README.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { coldStartGroup } from './groups/cold-start';
import { httpGroup } from './groups/http';
import { inProcessGroup } from './groups/in-process';
import { memoryGroup } from './groups/memory';
import { ricGroup } from './groups/ric';
import { s3Group } from './groups/s3';
import { startBackground } from './lib/background';
import { Cleanup } from './lib/cleanup';
import { makeFiles } from './lib/data';
import { stopSharedS3 } from './lib/s3-server';
import { FULL, QUICK, formatBytes } from './lib/profile';
import { toMarkdown, toText, type Machine, type Report } from './lib/report';
import { NGINX, PROJECT_ROOT, serverNodeFlags } from './lib/servers';
import type { BenchGroup, Row } from './lib/types';

/** The groups of rows, in the order they run. A new backend (S3) adds its group here. */
// The three that use S3 run together (coldstart and ric also share one `serverless package`), so that Swift is stopped before the HTTP and memory rows.
const GROUPS: readonly BenchGroup[] = [inProcessGroup, s3Group, coldStartGroup, ricGroup, httpGroup, memoryGroup];

function machine(): Machine {
  let nginx = 'nginx not installed';
  try {
    // `nginx -v` prints on stderr.
    nginx = execFileSync('sh', ['-c', `${NGINX} -v 2>&1`], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    // keep it
  }
  const cpu = cpus();
  return { cores: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryGiB: totalmem() / 2 ** 30, kernel: release(), node: process.version, nginx: nginx.replace(/^nginx version: /, '') };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const profile = args.includes('--quick') ? QUICK : FULL;
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const groups = GROUPS.filter((g) => only === undefined || only.includes(g.id));
  const cpuProfDir = args.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length);
  if (cpuProfDir) serverNodeFlags.push('--cpu-prof', `--cpu-prof-dir=${resolve(cpuProfDir)}`);
  const started = Date.now();
  const background = startBackground();
  const log = (message: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);

  const cleanup = new Cleanup();
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new Error(`the run took more than ${profile.deadlineMs / 1000} s`)), profile.deadlineMs);
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    controller.abort(new Error(signal));
    void cleanup.runAll(log).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const rows: Row[] = [];
  const errors: string[] = [];
  try {
    log(`profile ${profile.name}: making ${formatBytes(profile.bigSize)}, ${formatBytes(profile.wholeSize)} and ${formatBytes(profile.smallSize)} files`);
    const files = await makeFiles(profile, cleanup);
    for (const [index, group] of groups.entries()) {
      if (controller.signal.aborted) {
        errors.push(`${group.name}: not run (${String(controller.signal.reason)})`);
        continue;
      }
      log(group.name);
      try {
        rows.push(...(await group.run({ profile, files, cleanup, log, signal: controller.signal })));
      } catch (error) {
        const message = `${group.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
        errors.push(message);
        log(`FAILED ${message}`);
      }
      if (group.usesS3 === true && !groups.slice(index + 1).some((g) => g.usesS3 === true)) await stopSharedS3(cleanup);
    }
  } finally {
    clearTimeout(deadline);
    await cleanup.runAll(log);
  }

  const commandLine = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const report: Report = {
    date: new Date().toISOString(),
    profile: profile.name,
    machine: machine(),
    commands: [commandLine, ...groups.flatMap((g) => g.describe(profile))],
    durationSeconds: (Date.now() - started) / 1000,
    background: background(),
    rows,
    errors,
  };
  const dir = join(PROJECT_ROOT, 'bench', 'results');
  const base = profile.name === 'full' && only === undefined ? 'latest' : profile.name === 'full' ? 'partial' : 'quick';
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, `${base}.md`), toMarkdown(report));
  console.log(toText(report));
  console.log(`written: bench/results/${base}.json, bench/results/${base}.md`);
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
