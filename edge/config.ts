import { type CdnSettings } from '../core/cdn';
import type { CorsPolicy } from '../core/cors';

/**
 * What the edge functions are built with (edge/bundle.mjs bakes it into their code, from the
 * same parameters the function's environment comes from). JSON, so that it can be written into
 * the code as a literal.
 */
export interface EdgeConfig {
  /** SIGNING_SECRET, or null for public links. */
  readonly secret: string | null;
  readonly cors: { readonly kind: 'off' } | { readonly kind: 'any' } | { readonly kind: 'list'; readonly origins: readonly string[] };
  readonly cache: CdnSettings;
  /** The origin ID of the function in the distribution (the brief's `fn`). */
  readonly fnOriginId: string;
}

/** The core's CORS policy from the baked list: no Set in the edge runtime, so a plain lookup. */
export function corsPolicyFrom(config: EdgeConfig): CorsPolicy {
  const { cors } = config;
  if (cors.kind !== 'list') return cors;
  const origins = cors.origins;
  return { kind: 'list', origins: { has: (origin) => origins.indexOf(origin) !== -1 } };
}
