import { createLocalStorage } from './local';
import type { Storage } from './types';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The backend the environment asks for: STORAGE=local (the default) serves DOWNLOADS_DIR,
 * STORAGE=s3 a bucket. The S3 backend, and the AWS SDK with it, is only loaded when asked for.
 */
export async function storageFromEnv(env: Env): Promise<Storage> {
  const kind = (env.STORAGE ?? 'local').trim().toLowerCase();
  if (kind === 'local') return createLocalStorage(env.DOWNLOADS_DIR || './downloads');
  if (kind === 's3') return (await import('./s3-env')).s3StorageFromEnv(env);
  throw new Error(`STORAGE=${kind} is not supported; use "local" or "s3"`);
}
