import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import type { ChildConfig, ChildResult } from '../lib/cold-start-child';
import { packagedFunction, scrubbedEnv } from '../lib/package';
import { handlerS3Env, sharedS3 } from '../lib/s3-server';
import { PROJECT_ROOT } from '../lib/servers';
import { alternate, ratios, summarize } from '../lib/stats';
import type { BenchContext, BenchGroup, PeerResult, Row, Target } from '../lib/types';

const GROUP = 'cold start and bundle';
/** The handler module of the package (serverless.yml: handler handlers/stream.handler). */
const HANDLER_MODULE = 'handlers/stream.mjs';
const FILE_NAME = 'Bench_Cold__0b000000-0000-4000-8000-000000000005.mp4';
const FILE_SIZE = 64 * 1024;
const RANGE = 'bytes=0-1023';
const RANGE_BYTES = 1024;

const P_IMPORT = 'import @aws-sdk/client-s3 + new S3Client';
const P_FIRST = 'same + 1st GetObject bytes=0-1023';
const P_WALL = 'bare SDK process (incl. its GetObject)';

type C = 'sdk' | 'local' | 's3';
interface Sample extends ChildResult {
  /** spawn() to the child's exit, seen from here. */
  readonly wallMs: number;
}

function runChild(script: string, config: ChildConfig, env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, JSON.stringify(config)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let exitedAt = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', () => (exitedAt = performance.now()));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = /^COLD (\{.*\})$/m.exec(stdout);
      if (code !== 0 || line === null) {
        reject(new Error(`cold start child (${config.kind}) exited with ${code ?? signal}:\n${stdout}${stderr}`));
        return;
      }
      resolve({ ...(JSON.parse(line[1]!) as ChildResult), wallMs: exitedAt - started });
    });
  });
}

export const coldStartGroup: BenchGroup = {
  id: 'coldstart',
  usesS3: true,
  name: GROUP,
  describe: (profile) => [
    `coldstart: \`node node_modules/osls/bin/serverless.js package --package <tmp>\` once per run (offline, no AWS credentials, ESBUILD_WORK_FOLDER of its own; shared with the ric group), stream.zip unzipped; then ${profile.coldStartRounds} alternating rounds of fresh \`node\` processes (bench/lib/cold-start-child.ts bundled with esbuild, no tsx): the packaged ${HANDLER_MODULE} imported after the runtime's awslambda global is installed, with STORAGE=local (DOWNLOADS_DIR with a 64 KiB file) and with STORAGE=s3 (Swift on 127.0.0.1, shared with the s3 group), each answering one Function URL event with Range ${RANGE} into a byte-counting sink; peer: a module that imports @aws-sdk/client-s3 from node_modules (CommonJS build) and creates an S3Client, then sends the same GetObject; page cache warm (one unmeasured run each)`,
  ],
  async run({ profile, files, cleanup, log, signal }: BenchContext): Promise<Row[]> {
    const work = await mkdtemp(join(files.root, 'coldstart-'));
    const { zip, unzipped, entries, noFile } = await packagedFunction(cleanup, files.root, log);
    const zipBytes = (await stat(zip)).size;
    const onlyHandlers = entries.every((e) => /^handlers\/[\w.-]+\.mjs$/.test(e));
    const handlerBytes = (await stat(join(unzipped, HANDLER_MODULE))).size;
    const unzippedBytes = (await Promise.all(entries.map(async (e) => (await stat(join(unzipped, e))).size))).reduce((a, b) => a + b, 0);

    const script = join(work, 'cold-start-child.mjs');
    await build({
      entryPoints: [join(PROJECT_ROOT, 'bench', 'lib', 'cold-start-child.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
    });

    // The file of the first request: on local disk, and the same bytes in the bucket.
    const downloads = join(work, 'downloads');
    await mkdir(downloads);
    const data = randomFillSync(Buffer.alloc(FILE_SIZE));
    await writeFile(join(downloads, FILE_NAME), data);
    const s3 = await sharedS3(cleanup, log);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: s3.prefix + FILE_NAME, Body: data }));

    const handlerUrl = pathToFileURL(join(unzipped, HANDLER_MODULE)).href;
    const sdkUrl = pathToFileURL(createRequire(join(PROJECT_ROOT, 'package.json')).resolve('@aws-sdk/client-s3')).href;
    const base = scrubbedEnv(noFile);
    const s3Env = { ...base, ...handlerS3Env(s3) };
    const runs: Record<C, { config: ChildConfig; env: NodeJS.ProcessEnv }> = {
      sdk: { config: { kind: 'sdk', module: sdkUrl, file: FILE_NAME, range: RANGE, bytes: RANGE_BYTES }, env: s3Env },
      local: { config: { kind: 'handler', module: handlerUrl, file: FILE_NAME, range: RANGE, bytes: RANGE_BYTES }, env: { ...base, STORAGE: 'local', DOWNLOADS_DIR: downloads } },
      s3: { config: { kind: 'handler', module: handlerUrl, file: FILE_NAME, range: RANGE, bytes: RANGE_BYTES }, env: s3Env },
    };
    const once = (c: C) => runChild(script, runs[c].config, runs[c].env, work, profile.measurementTimeoutMs);
    // Unmeasured: the files of each into the page cache.
    for (const c of ['sdk', 'local', 's3'] as const) await once(c);

    const samples = await alternate<C, Sample>(['sdk', 'local', 's3'], profile.coldStartRounds, (c) => {
      signal.throwIfAborted();
      return once(c);
    }, (c, round, s) => log(`  round ${round + 1} ${c}: import ${s.importMs.toFixed(1)} ms, +first ${s.firstMs.toFixed(1)} ms, process ${s.wallMs.toFixed(0)} ms`));

    const of = (c: C, f: (s: Sample) => number) => samples[c].map(f);
    const importMs = (s: Sample) => s.importMs;
    const firstMs = (s: Sample) => s.importMs + s.firstMs;
    const wallMs = (s: Sample) => s.wallMs;
    const peer = (name: string, ours: number[], theirs: number[]): PeerResult => ({ name, value: summarize(theirs), ratio: summarize(ratios(ours, theirs, 'lower')) });
    const row = (id: string, label: string, ours: number[], peers: PeerResult[], targets: Target[] = []): Row => ({
      group: GROUP,
      id,
      label,
      unit: 'ms',
      better: 'lower',
      ratioMeaning: 'peer/ours',
      ours: summarize(ours),
      peers,
      targets,
    });
    const importS3 = peer(P_IMPORT, of('s3', importMs), of('sdk', importMs));
    const kib = (bytes: number) => (bytes / 1024).toFixed(0);
    return [
      {
        group: GROUP,
        id: 'coldstart-zip',
        label: 'stream.zip (serverless package)',
        unit: 'KiB',
        better: 'lower',
        ratioMeaning: '-',
        ours: summarize([zipBytes / 1024]),
        peers: [],
        targets: [{ maxValue: 1024, text: '< 1 MiB (as test/stack checks)', pass: zipBytes < 1024 * 1024 }],
        note: `${zipBytes} bytes zipped, ${kib(unzippedBytes)} KiB unzipped, of which ${HANDLER_MODULE} ${kib(handlerBytes)} KiB (the rest: chunks only STORAGE=s3 loads)`,
      },
      {
        group: GROUP,
        id: 'coldstart-files',
        label: 'files in stream.zip',
        unit: 'files',
        better: 'lower',
        ratioMeaning: '-',
        ours: summarize([entries.length]),
        peers: [],
        targets: [{ text: 'only handlers/*.mjs', pass: onlyHandlers }],
      },
      row('coldstart-import-local', `import ${HANDLER_MODULE}, STORAGE=local`, of('local', importMs), [peer(P_IMPORT, of('local', importMs), of('sdk', importMs))]),
      row('coldstart-import-s3', `import ${HANDLER_MODULE}, STORAGE=s3 (its init creates the S3Client)`, of('s3', importMs), [importS3], [
        { peer: P_IMPORT, minRatio: 1, text: `>= 1x (README "Bundle": faster than the bare SDK import)`, pass: importS3.ratio.median >= 1 },
      ]),
      row('coldstart-first-local', `import + 1st request (${RANGE}, local disk)`, of('local', firstMs), [peer(P_IMPORT, of('local', firstMs), of('sdk', importMs))]),
      row('coldstart-first-s3', `import + 1st request (${RANGE}: 1 GetObject to Swift)`, of('s3', firstMs), [peer(P_FIRST, of('s3', firstMs), of('sdk', firstMs))]),
      row('coldstart-process-local', 'node process, spawn to exit (local, 1 request)', of('local', wallMs), [peer(P_WALL, of('local', wallMs), of('sdk', wallMs))]),
      row('coldstart-process-s3', 'node process, spawn to exit (s3, 1 request)', of('s3', wallMs), [peer(P_WALL, of('s3', wallMs), of('sdk', wallMs))]),
    ];
  },
};
