/**
 * The peer of the `ric` rows (bench/groups/ric.ts): the least a streaming Lambda handler can do to
 * send a file's bytes, run under the same runtime client as ours. `streamifyResponse`, one
 * `HttpResponseStream.from`, and `pipeline` of `fs.createReadStream` (STORAGE=local) or the bare
 * SDK's `GetObject` body (STORAGE=s3) into the response stream. No validation, no window policy,
 * no conditions, no access log: a closed `bytes=a-b` or no Range, as the bench sends.
 * Bundled by the bench as serverless-esbuild bundles ours (ESM, node22).
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LambdaFunctionURLEvent } from 'aws-lambda';

const env = process.env;
const dir = env.DOWNLOADS_DIR ?? '.';
const bucket = env.S3_BUCKET ?? '';
const prefix = env.S3_PREFIX ?? '';
const s3 =
  env.STORAGE === 's3'
    ? new S3Client({
        region: env.AWS_REGION ?? 'us-east-1',
        ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
        forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      })
    : undefined;

export const handler = awslambda.streamifyResponse(async (event: LambdaFunctionURLEvent, stream: Writable) => {
  const name = decodeURIComponent(event.rawPath.slice(event.rawPath.lastIndexOf('/') + 1));
  const range = event.headers.range;
  const match = range === undefined ? null : /^bytes=(\d+)-(\d+)$/.exec(range);
  const start = match === null ? undefined : Number(match[1]);
  const end = match === null ? undefined : Number(match[2]);
  const statusCode = match === null ? 200 : 206;
  if (s3 === undefined) {
    const out = awslambda.HttpResponseStream.from(stream, {
      statusCode,
      headers: { 'content-type': 'video/mp4', ...(match === null ? {} : { 'content-range': `bytes ${start}-${end}/*` }) },
    });
    await pipeline(createReadStream(join(dir, name), match === null ? {} : { start, end }), out);
    return;
  }
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + name, ...(range === undefined ? {} : { Range: range }) }));
  const headers: Record<string, string> = { 'content-type': 'video/mp4' };
  if (response.ContentLength !== undefined) headers['content-length'] = String(response.ContentLength);
  if (response.ContentRange !== undefined) headers['content-range'] = response.ContentRange;
  const out = awslambda.HttpResponseStream.from(stream, { statusCode, headers });
  await pipeline(response.Body as Readable, out);
});
