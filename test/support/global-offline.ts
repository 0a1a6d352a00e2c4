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
    backends: BackendContext[];
  }
}

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
    const logs = await mkdtemp(join(tmpdir(), 'offline-logs-'));
    stops.push(() => rm(logs, { recursive: true, force: true }));
    const local: OfflineServer = await startOffline(downloads, quiet, { logFile: join(logs, 'local.log') });
    stops.push(() => local.stop());
    const remote: OfflineServer = await startOffline(downloads, {
      ...quiet,
      STORAGE: 's3',
      S3_BUCKET: s3.bucket,
      S3_PREFIX: s3.prefix,
      S3_ENDPOINT: proxy.url,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    }, { logFile: join(logs, 's3.log') });
    stops.push(() => remote.stop());

    project.provide('backends', [
      { kind: 'local', url: local.url, pid: local.pid, downloads, logFile: join(logs, 'local.log') },
      { kind: 's3', url: remote.url, pid: remote.pid, downloads, logFile: join(logs, 's3.log'), s3 },
    ]);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
