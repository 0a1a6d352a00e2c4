import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { missingSwiftPackages, SWIFT_APT_PACKAGES, startSwift, swiftS3ClientConfig, type S3Server } from '../../support/swift';
import type { Cleanup } from './cleanup';

const execFileAsync = promisify(execFile);

/**
 * Installs OpenStack Swift with apt-get if it is missing, as scripts/ensure-installed.mjs does for
 * `npm test` (root only; `apt-get update` first). Otherwise fails saying what to install.
 */
export async function ensureSwift(log: (m: string) => void): Promise<void> {
  if (missingSwiftPackages().length === 0) return;
  const packages = SWIFT_APT_PACKAGES.split(' ');
  const canInstall = process.getuid?.() === 0 && (() => {
    try {
      accessSync('/usr/bin/apt-get', constants.X_OK);
      return true;
    } catch {
      return false;
    }
  })();
  if (!canInstall) {
    throw new Error(`OpenStack Swift is not installed (missing ${missingSwiftPackages().join(', ')}): run \`sudo apt-get install -y --no-install-recommends ${SWIFT_APT_PACKAGES}\``);
  }
  log(`Swift missing: apt-get update; apt-get install -y ${SWIFT_APT_PACKAGES}`);
  const options = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 };
  await execFileAsync('apt-get', ['update', '-qq'], options);
  await execFileAsync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], options);
  const still = missingSwiftPackages();
  if (still.length > 0) throw new Error(`apt-get installed ${SWIFT_APT_PACKAGES} but ${still.join(', ')} is missing`);
}

export interface BenchS3 {
  readonly server: S3Server;
  readonly bucket: string;
  readonly prefix: string;
  /** A client of the server itself, for uploads (not the client under test). */
  readonly client: S3Client;
}

export const BENCH_BUCKET = 'bench-videos';
export const BENCH_PREFIX = 'bench/';

/** One Swift per run, shared by the groups that need S3 (s3, coldstart), stopped by the run's cleanup. */
const running = new WeakMap<Cleanup, Promise<BenchS3>>();
const stoppers = new WeakMap<Cleanup, Array<() => Promise<void>>>();

export function sharedS3(cleanup: Cleanup, log: (m: string) => void): Promise<BenchS3> {
  let started = running.get(cleanup);
  if (started === undefined) {
    started = (async () => {
      await ensureSwift(log);
      // Node 20: the SDK warns once per process, at the first client, that it will need Node 22.
      // Left set for the rest of the run: it only silences that warning.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
      const begin = performance.now();
      const server = await startSwift({ timeoutMs: 60_000 });
      const stopServer = cleanup.add('swift', () => server.stop());
      const client = new S3Client(swiftS3ClientConfig(server));
      const stopClient = cleanup.add('s3 upload client', () => client.destroy());
      stoppers.set(cleanup, [stopClient, stopServer]);
      await client.send(new CreateBucketCommand({ Bucket: BENCH_BUCKET }));
      log(`  swift (s3api) on ${server.endpoint}, started in ${((performance.now() - begin) / 1000).toFixed(1)} s`);
      return { server, bucket: BENCH_BUCKET, prefix: BENCH_PREFIX, client };
    })();
    running.set(cleanup, started);
  }
  return started;
}

/**
 * Stops the shared Swift once no later group needs it: its daemons keep a few percent of the CPU
 * busy even when idle, which would tax the HTTP and memory rows that follow.
 */
export async function stopSharedS3(cleanup: Cleanup): Promise<void> {
  const started = running.get(cleanup);
  if (started === undefined) return;
  running.delete(cleanup);
  await started.catch(() => undefined);
  for (const stop of stoppers.get(cleanup) ?? []) await stop();
  stoppers.delete(cleanup);
}

/** The environment of the handler (STORAGE=s3) for this server, as global-offline.ts gives it. */
export function handlerS3Env(s3: BenchS3, endpoint = s3.server.endpoint): Record<string, string> {
  return {
    STORAGE: 's3',
    S3_BUCKET: s3.bucket,
    S3_PREFIX: s3.prefix,
    S3_ENDPOINT: endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: s3.server.region,
    AWS_ACCESS_KEY_ID: s3.server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.server.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export interface S3Object {
  readonly name: string;
  readonly size: number;
}

/** Puts the first `size` bytes of the file at `path` under the prefix as `name`. */
export async function upload(s3: BenchS3, name: string, path: string, size: number): Promise<S3Object> {
  const body = Buffer.allocUnsafe(size);
  const handle = await open(path, 'r');
  try {
    const { bytesRead } = await handle.read(body, 0, size, 0);
    if (bytesRead !== size) throw new Error(`${path}: read ${bytesRead} of ${size} bytes`);
  } finally {
    await handle.close();
  }
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: s3.prefix + name, Body: body }));
  return { name, size };
}
