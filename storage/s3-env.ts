import { positiveInteger as positive, type Env } from '../core/env';
import { createS3Storage } from './s3';
import type { Storage } from './types';

/**
 * The S3 backend as the environment configures it. One client per container, created at init:
 * keep-alive sockets are reused across invocations.
 *
 * Timeouts, each bounding a different wait:
 * - S3_CONNECT_TIMEOUT_MS (2000): TCP and TLS connection set-up, per attempt;
 * - S3_REQUEST_TIMEOUT_MS (5000): from sending a request to S3's response headers, per attempt;
 *   S3 usually answers in tens of milliseconds, and with S3_MAX_ATTEMPTS (3) and the SDK's
 *   backoff a storage that stays silent becomes a 503 in about 16 s at most;
 * - S3_SOCKET_TIMEOUT_MS (30000): a body that stops flowing for this long (S3 stalled, or a
 *   viewer paused without closing the connection) is cut, freeing the socket.
 *
 * S3_MAX_SOCKETS (50) bounds the keep-alive pool. In Lambda a container serves one request at a
 * time and never comes near it. A process serving many clients at once (`npm start` under load)
 * needs it at least as large as its concurrency: requests beyond it wait for a socket, and the
 * SDK's connect timer is already running while they wait, so a long queue fails as "could not
 * connect" (test/integration/load.test.ts runs 200 clients with 256).
 */
export async function s3StorageFromEnv(env: Env): Promise<Storage> {
  const bucket = env.S3_BUCKET?.trim();
  if (!bucket) throw new Error('STORAGE=s3 needs S3_BUCKET: the bucket that holds the downloads');
  const accessDenied = env.S3_ACCESS_DENIED ?? 'missing';
  if (accessDenied !== 'missing' && accessDenied !== 'error') throw new Error('S3_ACCESS_DENIED must be "missing" or "error"');
  const maxSockets = positive(env, 'S3_MAX_SOCKETS', 50);
  // Imported here, not at the top: see createS3Storage.
  const { S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
    maxAttempts: positive(env, 'S3_MAX_ATTEMPTS', 3),
    // Checksums of ranged reads cannot be validated, and validating whole objects would cost a
    // pass over every byte; TLS already protects the transfer.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: positive(env, 'S3_CONNECT_TIMEOUT_MS', 2000),
      requestTimeout: positive(env, 'S3_REQUEST_TIMEOUT_MS', 5000),
      throwOnRequestTimeout: true,
      socketTimeout: positive(env, 'S3_SOCKET_TIMEOUT_MS', 30_000),
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
    },
  });
  return createS3Storage({ client, bucket, prefix: env.S3_PREFIX ?? '', accessDenied });
}
