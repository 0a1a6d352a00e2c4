import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cleanup } from './cleanup';
import { PROJECT_ROOT } from './servers';

const execFileAsync = promisify(execFile);
const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

/** What `serverless package` made, unzipped: the deployed function's code. */
export interface PackagedFunction {
  readonly zip: string;
  /** stream.zip unzipped: a Lambda task root (handlers/stream.mjs and its chunks). */
  readonly unzipped: string;
  /** The names in the zip. */
  readonly entries: readonly string[];
  /** A path that does not exist: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE of the children. */
  readonly noFile: string;
}

/** Variables of the bench's own environment that would change what the children do. */
const SCRUBBED = /^(AWS_|S3_|STORAGE$|DOWNLOADS_DIR$|NODE_OPTIONS$|MAX_RANGE_BYTES$|MAX_RESPONSE_BYTES$|SIGNING_SECRET$|CORS_ORIGINS$|RESPONSE_MODE$|API_GATEWAY_STREAMING$|PRESIGN_EXPIRES_SECONDS$|RANGE_WINDOWS$|ACCESS_LOG$|CDN_)/;

/** The bench's environment without what configures the function, and without ~/.aws. */
export function scrubbedEnv(noFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!SCRUBBED.test(name)) env[name] = value;
  // No shared config or credentials files: the SDK reads nothing from ~/.aws.
  env.AWS_CONFIG_FILE = env.AWS_SHARED_CREDENTIALS_FILE = noFile;
  return env;
}

const packaged = new WeakMap<Cleanup, Promise<PackagedFunction>>();

/**
 * `serverless package` as `npm run package` runs it, offline (as test/stack/stack.test.ts does), once
 * per run (the coldstart and ric groups share it), unzipped in a folder of `root`.
 */
export function packagedFunction(cleanup: Cleanup, root: string, log: (m: string) => void): Promise<PackagedFunction> {
  let made = packaged.get(cleanup);
  if (made === undefined) {
    made = (async () => {
      const work = await mkdtemp(join(root, 'package-'));
      const noFile = join(work, 'no-aws-config');
      const outDir = join(work, 'package');
      const folder = `.esbuild-bench-${process.pid}`;
      const removeFolder = cleanup.add(`build folder ${folder}`, () => rm(join(PROJECT_ROOT, folder), { recursive: true, force: true }));
      const env = scrubbedEnv(noFile);
      env.ESBUILD_WORK_FOLDER = folder;
      const started = performance.now();
      try {
        await execFileAsync(process.execPath, [SERVERLESS, 'package', '--package', outDir], { cwd: PROJECT_ROOT, env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
      } finally {
        await removeFolder();
      }
      log(`  serverless package: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const zip = join(outDir, 'stream.zip');
      const unzipped = join(work, 'unzipped');
      await execFileAsync('unzip', ['-q', zip, '-d', unzipped], { timeout: 60_000 });
      const entries = (await execFileAsync('unzip', ['-Z1', zip], { timeout: 60_000 })).stdout.trim().split('\n').filter((e) => e !== '');
      return { zip, unzipped, entries, noFile };
    })();
    packaged.set(cleanup, made);
  }
  return made;
}
