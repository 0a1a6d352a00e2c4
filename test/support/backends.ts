import { setTimeout as sleep } from 'node:timers/promises';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Fault, SeenRequest } from '../../support/s3-proxy';

/** One running `serverless offline` and the storage behind it, as the global setup provides it. */
export interface BackendContext {
  readonly kind: 'local' | 's3';
  /** What runs the handler: the in-process emulation, or aws-lambda-ric processes (LAMBDA_RUNTIME=ric). */
  readonly runtime: 'emulation' | 'ric';
  readonly url: string;
  /** The server process (`serverless offline`); test/support/processes.ts finds its runtime processes. */
  readonly pid: number;
  /** The fixtures as files (the local backend serves this folder; S3 holds copies under the prefix). */
  readonly downloads: string;
  /** Everything the server process printed. */
  readonly logFile: string;
  readonly s3?: {
    /** The S3 server itself, for the tests' own writes (not counted by the proxy). */
    readonly endpoint: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly bucket: string;
    readonly prefix: string;
    /** The counting proxy the function talks to. */
    readonly proxyAdmin: string;
  };
}

export function s3ClientFor(s3: NonNullable<BackendContext['s3']>): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Writes and removes files in whatever the backend serves; a write replaces atomically. */
export function storageWriter(backend: BackendContext) {
  const { s3 } = backend;
  if (s3 === undefined) {
    return {
      async put(name: string, data: Buffer) {
        const temporary = join(backend.downloads, `.${name}.tmp`);
        await writeFile(temporary, data);
        await rename(temporary, join(backend.downloads, name));
      },
      remove: (name: string) => rm(join(backend.downloads, name), { force: true }),
    };
  }
  const client = s3ClientFor(s3);
  return {
    async put(name: string, data: Buffer, key = s3.prefix + name) {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: data }));
    },
    async remove(name: string) {
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: s3.prefix + name }));
    },
  };
}

/** The S3 requests the function made since the last reset, as the S3 server received them. */
export async function s3Requests(backend: BackendContext): Promise<SeenRequest[]> {
  const admin = backend.s3?.proxyAdmin;
  if (admin === undefined) throw new Error('not an S3 backend');
  return (await fetch(`${admin}/requests`)).json() as Promise<SeenRequest[]>;
}

export async function resetS3Requests(backend: BackendContext): Promise<void> {
  const admin = backend.s3?.proxyAdmin;
  if (admin !== undefined) await fetch(`${admin}/reset`, { method: 'POST' });
}

/** What the proxy in front of S3 counts: open connections, requests in flight, body bytes sent. */
export interface ProxyConnections {
  readonly open: number;
  readonly inFlight: number;
  readonly bytesOut: number;
}

export async function s3Connections(backend: BackendContext): Promise<ProxyConnections> {
  const admin = backend.s3?.proxyAdmin;
  if (admin === undefined) throw new Error('not an S3 backend');
  return (await fetch(`${admin}/connections`)).json() as Promise<ProxyConnections>;
}

/** The proxy's connection counts once no S3 request is in flight (waits up to 5 s for streams to wind down). */
export async function settledS3Connections(backend: BackendContext): Promise<ProxyConnections> {
  let connections = await s3Connections(backend);
  for (let i = 0; i < 50 && connections.inFlight > 0; i += 1) {
    await sleep(100);
    connections = await s3Connections(backend);
  }
  return connections;
}

/** Makes the proxy in front of S3 misbehave (see Fault); `{ mode: 'none' }` heals it. */
export async function injectFault(backend: BackendContext, fault: Fault): Promise<void> {
  const admin = backend.s3?.proxyAdmin;
  if (admin === undefined) throw new Error('not an S3 backend');
  await fetch(`${admin}/fault`, { method: 'POST', body: JSON.stringify(fault) });
}
