import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { serveStream, DEFAULT_SERVE_OPTIONS } from '../../core/serve';
import { createS3Storage } from '../../storage/s3';
import type { Storage } from '../../storage/types';
import { collect } from '../support/http';

/**
 * Only what a real S3 server cannot be made to show: the error shapes of AWS itself (InvalidRange
 * with ActualObjectSize, AccessDenied, the SDK's errors for refused and reset connections) and an
 * object that changes between the parts of one answer. Requests per client request, Range rules,
 * conditions and 404s are counted on the wire against a real S3 server (Swift) in
 * test/integration/s3-requests.test.ts, delivery.test.ts, faults.test.ts and http.test.ts.
 */

const SIZE = 1000;
const ETAG = '"0123456789abcdef0123456789abcdef"';
const MODIFIED = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const s3 = mockClient(S3Client);
const quiet = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined, boundary: () => 'B' };
let storage: Storage;

function s3Error(name: string, status: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } }), extra);
}

const request = (headers: Record<string, string> = {}, method = 'GET') =>
  serveStream({ method, rawPath: '/api/stream/clip__1.mp4', rawQuery: '', headers }, storage, quiet);

beforeEach(async () => {
  s3.reset();
  s3.on(HeadObjectCommand).resolves({ ContentLength: SIZE, ETag: ETAG, LastModified: MODIFIED });
  storage = await createS3Storage({ client: new S3Client({ region: 'us-east-1' }), bucket: 'videos', prefix: 'downloads/', accessDenied: 'missing' });
});

const heads = () => s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input);

describe('S3 backend: AWS error shapes', () => {
  it('InvalidRange: the size from ActualObjectSize (as AWS sends it), without another request', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('InvalidRange', 416, { ActualObjectSize: '1000' }));
    const res = await request({ range: 'bytes=5000-' });
    expect([res.status, res.headers['content-range']]).toEqual([416, 'bytes */1000']);
    expect(heads()).toHaveLength(0);
  });

  it('AccessDenied is a 404 by default and a 502 when configured as an error', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    expect((await request()).status).toBe(404);
    storage = await createS3Storage({ client: new S3Client({ region: 'us-east-1' }), bucket: 'videos', prefix: '', accessDenied: 'error' });
    expect((await request()).status).toBe(502);
  });

  it('refused and reset connections, in the SDK\u2019s shapes, are a 502 with no SDK text', async () => {
    // Throttling, 5xx and silence, as the SDK reports them after its retries, are in faults.test.ts.
    const cases: Error[] = [
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443 bucket videos'), { code: 'ECONNREFUSED' }),
      // The SDK's own shape for a connection reset by the server: named TimeoutError, but not slow.
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }),
    ];
    for (const error of cases) {
      s3.on(GetObjectCommand).rejects(error);
      const res = await request();
      const text = (await collect(res.body)).toString();
      expect(res.status).toBe(502);
      expect(text).toBe('{"detail":"Almacenamiento no disponible"}');
    }
  });

  it('a part read after the object changed fails the response instead of mixing versions', async () => {
    s3.on(GetObjectCommand, { IfMatch: ETAG }).rejects(s3Error('PreconditionFailed', 412));
    const res = await request({ range: 'bytes=0-9,500-509' });
    await expect(collect(res.body)).rejects.toThrow('changed while it was being read');
  });
});
