import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fuzzRequests, FORBIDDEN, loadHandler, ORIGIN, SERVABLE } from '../support/request-path-fuzz';
import { startSwift, swiftS3ClientConfig, type S3Server } from '../../support/swift';

/**
 * The request-path fuzz (test/support/request-path-fuzz.ts) on the S3 backend, against a real
 * S3-compatible server: the handler configured as deployed (STORAGE=s3, a bucket and a prefix),
 * with forbidden objects outside the prefix, hidden and nested under it. Fewer runs than on local
 * disk: each is a round trip to a single-node Swift in Python. FUZZ_S3_RUNS raises the count.
 */
const RUNS = Number(process.env.FUZZ_S3_RUNS ?? 3_000);
const BUCKET = 'fuzz';
const PREFIX = 'downloads/';

let swift: S3Server;
let client: S3Client;

beforeAll(async () => {
  swift = await startSwift();
  client = new S3Client(swiftS3ClientConfig(swift));
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const put = (Key: string, Body: Buffer) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  for (const [name, bytes] of Object.entries(SERVABLE)) await put(PREFIX + name, bytes);
  for (const key of ['outside-secret.mp4', `${PREFIX}.hidden.mp4`, `${PREFIX}sub/nested.mp4`, 'downloads', `${PREFIX}link-out.mp4/x`]) await put(key, FORBIDDEN);
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await swift?.stop();
});

describe('fuzzing the whole request path on S3 (public, CORS on, small windows)', () => {
  it(`answers ${RUNS} random requests with well-formed 2xx/3xx/4xx, exact bytes, nothing from outside the prefix`, async () => {
    const handler = await loadHandler({
      STORAGE: 's3',
      S3_BUCKET: BUCKET,
      S3_PREFIX: PREFIX,
      S3_ENDPOINT: swift.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: swift.region,
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      CORS_ORIGINS: ORIGIN,
      SIGNING_SECRET: '',
    });
    const before = swift.accessLog().length;
    const seen = await fuzzRequests(handler, RUNS);
    // What local disk answers 413 (too large to stream) S3 answers 307 (from the bucket itself).
    for (const status of [200, 204, 206, 304, 307, 400, 404, 405, 412, 414, 416]) expect(seen.get(status) ?? 0, `answers with ${status}`).toBeGreaterThan(0);
    expect(seen.get(413) ?? 0).toBe(0);
    console.info(`fuzz statuses (S3, ${swift.accessLog().length - before} S3 requests)`, Object.fromEntries([...seen].sort(([a], [b]) => a - b)));
  }, 600_000);
});
