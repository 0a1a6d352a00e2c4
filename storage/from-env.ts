import type { Env } from '../core/env';
import { createLocalStorage } from './local';
import type { Storage } from './types';

/**
 * The backend the environment asks for: STORAGE=local serves DOWNLOADS_DIR, STORAGE=s3 a bucket.
 * Without STORAGE, a configured S3_BUCKET means s3 (as deployed), none means local (as offline).
 * The S3 backend, and the AWS SDK with it, is only loaded when asked for.
 */
export async function storageFromEnv(env: Env): Promise<Storage> {
  const kind = (env.STORAGE || (env.S3_BUCKET?.trim() ? 's3' : 'local')).trim().toLowerCase();
  if (kind === 'local') return createLocalStorage(env.DOWNLOADS_DIR || './downloads');
  if (kind === 's3') return (await import('./s3-env')).s3StorageFromEnv(env);
  throw new Error(`STORAGE=${kind} is not supported; use "local" or "s3"`);
}
