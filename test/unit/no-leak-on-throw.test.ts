import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SERVE_OPTIONS, serveStream, type ServeOptions } from '../../core/serve';
import type { StreamRequest } from '../../core/request';
import { createLocalStorage } from '../../storage/local';
import { createS3Storage } from '../../storage/s3';
import type { Storage } from '../../storage/types';
import { fdsUnder } from '../support/fds';
import { startSwift, swiftS3ClientConfig, type S3Server } from '../support/swift';

/**
 * Between opening an object and handing its body to the writer, a throw must still close the file
 * descriptor (local) or destroy the S3 response body (its socket would otherwise stay out of the
 * pool). Real backends: files in a temp dir, and the S3-compatible server of test/support/swift.ts;
 * each throw is injected at a seam (an option, a wrapped storage), and what is left open is
 * counted: descriptors under the folder, sockets the S3 client's agent still has in use.
 */

const NAME = 'clip__1.mp4';
const DATA = randomBytes(300_000);
const BUCKET = 'leaks';

let base: string;
let root: string;
let swift: S3Server;
/** The agent of the S3 client below: a socket it has in use is one a response body still holds. */
const agent = new Agent({ keepAlive: true });
let s3: Storage;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'no-leak-')));
  root = join(base, 'downloads');
  await mkdir(root);
  await writeFile(join(root, NAME), DATA);

  swift = await startSwift();
  const client = new S3Client({ ...swiftS3ClientConfig(swift), maxAttempts: 1, requestHandler: { httpAgent: agent } });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: NAME, Body: DATA }));
  s3 = await createS3Storage({ client, bucket: BUCKET, prefix: '', accessDenied: 'missing' });
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await swift?.stop();
  await rm(base, { recursive: true, force: true });
});

function get(headers: Record<string, string> = {}): StreamRequest {
  return { method: 'GET', rawPath: `/api/stream/${NAME}`, rawQuery: '', headers };
}

const quiet: ServeOptions = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined };

/**
 * What `count` rose by since `before`, once it is back (waiting at most 2 s): closing a descriptor
 * or a socket takes a few turns of the event loop. Measured from each test's own start, so that a
 * leak is charged to the test that made it.
 */
async function leftOpen(count: () => number, before: number): Promise<number> {
  for (let i = 0; i < 40 && count() > before; i += 1) await sleep(50);
  return count() - before;
}

const openFiles = () => fdsUnder(root).length;
const s3SocketsInUse = () => Object.values(agent.sockets).reduce((sum, sockets) => sum + (sockets?.length ?? 0), 0);

/** The storage with every found object's `read` throwing at once, as a faulty backend would. */
function readsThrow(inner: Storage): Storage {
  return {
    async open(key, intent) {
      const opened = await inner.open(key, intent);
      if (opened.status !== 'found') return opened;
      const read = () => {
        throw new Error('injected: read');
      };
      return { status: 'found', object: { ...opened.object, read } };
    },
  };
}

describe('core/serve.ts: a throw after storage found the object closes it', () => {
  it('local: planning that throws (the multipart boundary) leaves no descriptor open', async () => {
    const files = openFiles();
    const storage = createLocalStorage(root);
    const boundary = () => {
      throw new Error('injected: boundary');
    };
    const response = await serveStream(get({ range: 'bytes=0-9,20-29' }), storage, { ...quiet, boundary });
    expect(response.status).toBe(500);
    expect(await leftOpen(openFiles, files)).toBe(0);
  });

  it('local: a read that throws while the body is attached leaves no descriptor open', async () => {
    const files = openFiles();
    const response = await serveStream(get({ range: 'bytes=0-9' }), readsThrow(createLocalStorage(root)), quiet);
    expect(response.status).toBe(500);
    expect(await leftOpen(openFiles, files)).toBe(0);
  });

  it('S3: a read that throws while the body is attached destroys the prefetched body', async () => {
    const sockets = s3SocketsInUse();
    const response = await serveStream(get({ range: 'bytes=0-199999' }), readsThrow(s3), quiet);
    expect(response.status).toBe(500);
    expect(await leftOpen(s3SocketsInUse, sockets)).toBe(0);
  });

  it('S3: a presign that throws (an answer too large to stream) destroys the prefetched body', async () => {
    const sockets = s3SocketsInUse();
    const presign = () => Promise.reject(new Error('injected: presign'));
    const response = await serveStream(
      get(),
      { open: (key, intent) => s3.open(key, intent), presign },
      { ...quiet, maxResponseBytes: 1000 },
    );
    expect(response.status).toBe(500);
    expect(await leftOpen(s3SocketsInUse, sockets)).toBe(0);
  });
});
