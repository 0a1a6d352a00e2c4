import { DEFAULT_CDN_ERROR_MAX_AGE, DEFAULT_CDN_MAX_AGE } from '../core/cdn';
import { corsOriginList, corsPolicyOf } from '../core/cors';
import type { EdgeConfig } from './config';

export { buildTables } from './build-tables';

/** The parameters the edge functions are built from, as osls resolves them (strings; empty: unset). */
export interface EdgeSettings {
  readonly signingSecret?: string | undefined;
  readonly corsOrigins?: string | undefined;
  readonly maxAge?: string | number | undefined;
  readonly errorMaxAge?: string | number | undefined;
  readonly fnOriginId?: string | undefined;
}

/** Validated as the function validates its environment (handlers/config.ts), at package time. */
export function edgeConfigFrom(settings: EdgeSettings): EdgeConfig {
  const secret = settings.signingSecret === undefined || settings.signingSecret === '' ? null : settings.signingSecret;
  if (secret !== null && secret.length < 32) throw new Error('signingSecret must be at least 32 characters long');
  const policy = corsPolicyOf(settings.corsOrigins);
  const cors = policy.kind === 'list' ? { kind: 'list' as const, origins: corsOriginList((settings.corsOrigins ?? '').trim()) } : policy;
  const signed = secret !== null;
  return {
    secret,
    cors,
    cache: { maxAge: seconds('maxAge', settings.maxAge, DEFAULT_CDN_MAX_AGE), errorMaxAge: seconds('errorMaxAge', settings.errorMaxAge, DEFAULT_CDN_ERROR_MAX_AGE), signed },
    fnOriginId: settings.fnOriginId === undefined || settings.fnOriginId === '' ? 'fn' : settings.fnOriginId,
  };
}

function seconds(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of seconds, not ${JSON.stringify(value)}`);
  return n;
}
