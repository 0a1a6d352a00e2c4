import { createLocalStorage } from './local';
import type { Storage } from './types';

export type Env = Readonly<Record<string, string | undefined>>;

/** The backend the environment asks for. STORAGE=local (the default) serves DOWNLOADS_DIR. */
export function storageFromEnv(env: Env): Storage {
  const kind = (env.STORAGE ?? 'local').trim().toLowerCase();
  if (kind === 'local') return createLocalStorage(env.DOWNLOADS_DIR || './downloads');
  throw new Error(`STORAGE=${kind} is not supported; use "local"`);
}
