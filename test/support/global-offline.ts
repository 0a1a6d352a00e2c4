import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { TestProject } from 'vitest/node';
import { s3ClientFor, type BackendContext } from './backends';
import { makeDownloads } from './fixtures';
import { startOffline } from './offline-server';
import { startS3Proxy } from '../../support/s3-proxy';
import { startSwift } from '../../support/swift';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Default settings. */
    backends: BackendContext[];
    /** The same backends with tight delivery limits (TIGHT_LIMITS). */
    tightBackends: BackendContext[];
    /** Local disk with SIGNING_SECRET and CORS_ORIGINS set to the origin of backends[0]. */
    secure: BackendContext & { signingSecret: string; allowedOrigin: string };
    /** S3 behind a proxy of its own that injects faults, with short timeouts (FAULT_TIMEOUTS). */
    faulty: BackendContext;
    /**
     * For 200 clients at once: local disk (backends[0]), and S3 with a socket pool that large
     * (S3_MAX_SOCKETS). With the default 50, requests queue for a socket, and the SDK counts that
     * wait against the connect timeout (see storage/s3-env.ts).
     */
    loadBackends: BackendContext[];
  }
}

/** 256 KiB windows and 8 MiB per response: small enough for the fixtures to cross both limits. */
export const TIGHT_LIMITS = { MAX_RANGE_BYTES: String(256 * 1024), MAX_RESPONSE_BYTES: String(8 * 1024 * 1024) };
/** So that a stalled S3 becomes a 503 in seconds: 3 attempts of 1 s to first byte, 2 s idle body. */
export const FAULT_TIMEOUTS = { S3_CONNECT_TIMEOUT_MS: '1000', S3_REQUEST_TIMEOUT_MS: '1000', S3_SOCKET_TIMEOUT_MS: '2000' };

/**
 * Once per run: the fixtures, a real S3 server (Swift) holding copies of them behind counting
 * proxies, and `serverless offline` (what `npm start` runs) once per backend and profile, with the
 * runtime LAMBDA_RUNTIME names.
 */
export default async function setup(project: TestProject) {
  // LAMBDA_RUNTIME=ric (npm test sets it for one of its runs) reaches the servers with the rest of
  // the environment: they then run the handler in aws-lambda-ric processes under Node.js 22.
  const runtime = process.env.LAMBDA_RUNTIME === 'ric' ? 'ric' : 'emulation';
  const stops: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const downloads = await makeDownloads();
    stops.push(() => rm(downloads, { recursive: true, force: true }));
    const swift = await startSwift();
    stops.push(() => swift.stop());
    const [proxy, faultProxy] = await Promise.all([startS3Proxy(swift.endpoint), startS3Proxy(swift.endpoint)]);
    stops.push(() => proxy.stop(), () => faultProxy.stop());

    const s3 = {
      endpoint: swift.endpoint,
      region: swift.region,
      accessKeyId: swift.accessKeyId,
      secretAccessKey: swift.secretAccessKey,
      bucket: 'videos',
      prefix: 'downloads/',
      proxyAdmin: proxy.adminUrl,
    };
    const client = s3ClientFor(s3);
    await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
    for (const name of await readdir(downloads)) {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: s3.prefix + name, Body: await readFile(join(downloads, name)) }));
    }
    client.destroy();

    const logs = await mkdtemp(join(tmpdir(), 'offline-logs-'));
    stops.push(() => rm(logs, { recursive: true, force: true }));
    const start = async (name: string, kind: 'local' | 's3', env: Record<string, string>, via = proxy): Promise<BackendContext> => {
      const logFile = join(logs, `${name}.log`);
      const s3Env = {
        STORAGE: 's3',
        S3_BUCKET: s3.bucket,
        S3_PREFIX: s3.prefix,
        S3_ENDPOINT: via.url,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: s3.region,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      };
      const quiet = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
      const server = await startOffline(downloads, { ...quiet, ...(kind === 's3' ? s3Env : {}), ...env }, { logFile });
      stops.push(() => server.stop());
      return { kind, runtime, url: server.url, pid: server.pid, downloads, logFile, ...(kind === 's3' ? { s3: { ...s3, proxyAdmin: via.adminUrl } } : {}) };
    };

    // Each server builds into a folder of its own, so they can start side by side.
    const [local, remote, localTight, remoteTight, faulty, remoteLoad] = await Promise.all([
      start('local', 'local', {}),
      start('s3', 's3', {}),
      start('local-tight', 'local', TIGHT_LIMITS),
      start('s3-tight', 's3', TIGHT_LIMITS),
      start('s3-faulty', 's3', FAULT_TIMEOUTS, faultProxy),
      // And a first-byte timeout for a single-node Swift in Python answering 200 ranged GETs at
      // once on two cores shared with the test: seconds, where S3 itself takes milliseconds.
      start('s3-load', 's3', { S3_MAX_SOCKETS: '256', S3_REQUEST_TIMEOUT_MS: '15000' }),
    ]);
    const signingSecret = randomBytes(32).toString('base64url');
    const allowedOrigin = new URL(local.url).origin;
    const secure = await start('local-secure', 'local', { SIGNING_SECRET: signingSecret, CORS_ORIGINS: allowedOrigin });

    project.provide('backends', [local, remote]);
    project.provide('tightBackends', [localTight, remoteTight]);
    project.provide('secure', { ...secure, signingSecret, allowedOrigin });
    project.provide('faulty', faulty);
    project.provide('loadBackends', [local, remoteLoad]);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
