import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SERVE_OPTIONS, serveStream } from '../../core/serve';
import { createLocalStorage } from '../../storage/local';
import { createS3Storage } from '../../storage/s3';
import type { Storage } from '../../storage/types';
import { startSwift, swiftS3ClientConfig, type S3Server } from '../../support/swift';

/** One backend of the pair, under the name the tests report it by. */
export interface NamedBackend {
  readonly name: 'local' | 's3';
  readonly storage: Storage;
}

/**
 * The same files in both real backends, for the tests that hold the backends to one answer
 * (test/backends/): a temp dir served by storage/local.ts, and a bucket of a fresh Swift (the real
 * S3-compatible server) served by storage/s3.ts, both built as the handler builds them.
 */
export interface TwinBackends {
  readonly local: NamedBackend;
  readonly s3: NamedBackend;
  /** The folder the local backend serves. */
  readonly dir: string;
  readonly swift: S3Server;
  /** A client of the same Swift, for the tests' own writes. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Writes (or replaces) one file in both backends. */
  put(name: string, data: Buffer): Promise<void>;
  stop(): Promise<void>;
}

export async function startTwinBackends(files: Readonly<Record<string, Buffer>>): Promise<TwinBackends> {
  const dir = await mkdtemp(join(tmpdir(), 'twin-downloads-'));
  let swift: S3Server | undefined;
  let client: S3Client | undefined;
  try {
    swift = await startSwift();
    const started = swift;
    const s3Client = new S3Client({ ...swiftS3ClientConfig(started), maxAttempts: 1 });
    client = s3Client;
    const bucket = 'twins';
    await s3Client.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = async (name: string, data: Buffer) => {
      await writeFile(join(dir, name), data);
      await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: name, Body: data }));
    };
    for (const [name, data] of Object.entries(files)) await put(name, data);
    // 'error': a 403 must show as a failure here, not pass as the 404 a missing key also gets.
    const s3 = await createS3Storage({ client: s3Client, bucket, prefix: '', accessDenied: 'error' });
    return {
      local: { name: 'local', storage: createLocalStorage(dir) },
      s3: { name: 's3', storage: s3 },
      dir,
      swift: started,
      client: s3Client,
      bucket,
      put,
      async stop() {
        s3Client.destroy();
        await started.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    client?.destroy();
    await swift?.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A file's validators as one backend reports them. */
export interface Validators {
  readonly etag: string;
  /** Milliseconds, as Last-Modified carries them (whole seconds). */
  readonly lastModified: number;
}

/**
 * The validators `backend` gives `name`, from a plain HEAD through the core: each backend has its
 * own, so the tests fill them in per backend. Anything but a 200 with both fields is an error.
 */
export async function currentValidators(backend: NamedBackend, name: string): Promise<Validators> {
  const head = await serveStream({ method: 'HEAD', rawPath: `/api/stream/${encodeURIComponent(name)}`, rawQuery: '', headers: {} }, backend.storage, DEFAULT_SERVE_OPTIONS);
  const etag = head.headers.etag ?? '';
  const lastModified = Date.parse(head.headers['last-modified'] ?? '');
  if (head.status !== 200 || !/^"[^"]+"$/.test(etag) || !Number.isFinite(lastModified)) {
    throw new Error(`${backend.name}: HEAD of ${name} gave ${head.status}, ETag ${etag}, Last-Modified ${head.headers['last-modified']}`);
  }
  return { etag, lastModified };
}
