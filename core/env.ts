/**
 * Reading settings from the environment, for the handler's config (handlers/config.ts) and the
 * backends' (storage/from-env.ts, storage/s3-env.ts). In core/, which both may import: the
 * handler's settings then depend on no storage module, and storage/ on nothing of handlers/.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** A positive whole number from the environment, or `fallback` when unset; anything else is an error at init. */
export function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, not ${JSON.stringify(raw)}`);
  return value;
}
