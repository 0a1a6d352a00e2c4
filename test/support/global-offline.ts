import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { TestProject } from 'vitest/node';
import { s3ClientFor, type BackendContext } from './backends';
import { makeDownloads } from './fixtures';
import { startOffline, type OfflineServer } from './offline-server';
import { startS3Proxy, type S3Proxy } from './s3-proxy';
import { startSwift, type S3Server } from './swift';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Default settings. */
    backends: BackendContext[];
    /** The same backends with tight delivery limits (TIGHT_LIMITS). */
    tightBackends: BackendContext[];
  }
}

/** 256 KiB windows and 8 MiB per response: small enough for the fixtures to cross both limits. */
export const TIGHT_LIMITS = { MAX_RANGE_BYTES: String(256 * 1024), MAX_RESPONSE_BYTES: String(8 * 1024 * 1024) };

/**
 * Once per run: the fixtures, a real S3 server (Swift) holding copies of them behind a counting
 * proxy, and `serverless offline` (what `npm start` runs) twice, once per backend.
 */
export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const downloads = await makeDownloads();
    stops.push(() => rm(downloads, { recursive: true, force: true }));

    const swift: S3Server = await startSwift();
    stops.push(() => swift.stop());
    const proxy: S3Proxy = await startS3Proxy(swift.endpoint);
    stops.push(() => proxy.stop());
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

    const quiet = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const s3Env = {
      STORAGE: 's3',
      S3_BUCKET: s3.bucket,
      S3_PREFIX: s3.prefix,
      S3_ENDPOINT: proxy.url,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const logs = await mkdtemp(join(tmpdir(), 'offline-logs-'));
    stops.push(() => rm(logs, { recursive: true, force: true }));
    const start = async (name: string, kind: 'local' | 's3', env: Record<string, string>): Promise<BackendContext> => {
      const logFile = join(logs, `${name}.log`);
      const server: OfflineServer = await startOffline(downloads, { ...quiet, ...(kind === 's3' ? s3Env : {}), ...env }, { logFile });
      stops.push(() => server.stop());
      return { kind, url: server.url, pid: server.pid, downloads, logFile, ...(kind === 's3' ? { s3 } : {}) };
    };

    project.provide('backends', [await start('local', 'local', {}), await start('s3', 's3', {})]);
    project.provide('tightBackends', [await start('local-tight', 'local', TIGHT_LIMITS), await start('s3-tight', 's3', TIGHT_LIMITS)]);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
