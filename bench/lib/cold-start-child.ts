/**
 * One cold start, in a fresh `node` process (bench/groups/cold-start.ts bundles this file with
 * esbuild and runs it with plain node: no tsx loader in the figures). argv[2] is a ChildConfig in
 * JSON; the result is one `COLD {json}` line on stdout (a ChildResult).
 *  - handler: installs the runtime's `awslambda` global (local/lambda-runtime.ts, bundled here),
 *    imports the packaged handler module (its init: the backend STORAGE names, an S3Client for s3),
 *    then answers one Function URL event with `Range` into a byte-counting sink;
 *  - sdk (the peer): imports @aws-sdk/client-s3 from node_modules (the CommonJS build, as a Lambda
 *    runtime's own SDK would be loaded), creates an S3Client, then sends one GetObject with the
 *    same Range and drains its body into the same sink.
 * Times are performance.now() in this process: around the import, and to the end of the answer.
 */
import { Readable } from 'node:stream';
import { installRuntimeGlobal, isStreamingHandler } from '../../local/lambda-runtime';
import { drainToSink, expectAnswer, invoke, urlEvent, type Answer } from './handler-io';

export interface ChildConfig {
  readonly kind: 'handler' | 'sdk';
  /** file: URL of the module to import. */
  readonly module: string;
  readonly file: string;
  readonly range: string;
  readonly bytes: number;
}

export interface ChildResult {
  /** Process start (performance.timeOrigin) to the first line of this script. */
  readonly bootMs: number;
  /** The dynamic import (and, for sdk, new S3Client). */
  readonly importMs: number;
  /** From the end of the import to the end of the first answer. */
  readonly firstMs: number;
}

type Sdk = Pick<typeof import('@aws-sdk/client-s3'), 'S3Client' | 'GetObjectCommand'>;

async function main(): Promise<void> {
  const bootMs = performance.now();
  const config = JSON.parse(process.argv[2] ?? '') as ChildConfig;
  let answer: Answer;
  let imported: number;
  let started: number;
  if (config.kind === 'handler') {
    installRuntimeGlobal();
    started = performance.now();
    const module = (await import(config.module)) as { handler?: unknown };
    imported = performance.now();
    if (!isStreamingHandler(module.handler)) throw new Error(`${config.module} does not export a streaming handler`);
    answer = await invoke(module.handler, urlEvent(config.file, 'GET', { range: config.range }));
  } else {
    const env = process.env;
    started = performance.now();
    const { S3Client, GetObjectCommand } = (await import(config.module)) as Sdk;
    const client = new S3Client({
      region: env.AWS_REGION ?? 'us-east-1',
      ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
      forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    imported = performance.now();
    const response = await client.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: `${env.S3_PREFIX ?? ''}${config.file}`, Range: config.range }));
    if (!(response.Body instanceof Readable)) throw new Error('GetObject: the body is not a Node.js stream');
    answer = await drainToSink(response.Body, 206);
  }
  const done = performance.now();
  expectAnswer(`${config.kind} ${config.file}`, answer, 206, config.bytes);
  const result: ChildResult = { bootMs, importMs: imported - started, firstMs: done - imported };
  process.stdout.write(`COLD ${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
