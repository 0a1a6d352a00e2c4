import type { Headers } from './plan';

/**
 * CORS for fetch()-based players (hls.js, shaka, dash.js) on other origins. `<video src>` needs
 * none. Off unless CORS_ORIGINS lists origins or is "*"; no credentials are ever allowed, so "*"
 * exposes nothing a plain <video> on any page could not already load.
 */
/** What a list policy needs of its origins: a Set here, a plain lookup at the edge, which has no Set. */
export interface OriginList {
  has(origin: string): boolean;
}

export type CorsPolicy = { readonly kind: 'off' } | { readonly kind: 'any' } | { readonly kind: 'list'; readonly origins: OriginList };

export const CORS_OFF: CorsPolicy = { kind: 'off' };
const EXPOSED = 'Content-Range, Accept-Ranges, Content-Length, Content-Disposition, ETag';
const ALLOWED_HEADERS = 'Range, If-Range, If-None-Match, If-Match, If-Modified-Since, If-Unmodified-Since';
export const CORS_METHODS = 'GET, HEAD, OPTIONS';

export function corsPolicyOf(setting: string | undefined): CorsPolicy {
  const value = (setting ?? '').trim();
  if (value === '') return CORS_OFF;
  if (value === '*') return { kind: 'any' };
  return { kind: 'list', origins: new Set(corsOriginList(value)) };
}

/** The origins of a CORS_ORIGINS list, validated (the edge bakes them as a list: it has no Set). */
export function corsOriginList(value: string): string[] {
  const origins = value.split(',').map((origin) => origin.trim().replace(/\/$/, '')).filter((origin) => origin !== '');
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new Error(`CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://player.example.com`);
  }
  return origins;
}

/** The headers every answer to `origin` carries (errors included, so a player can read them). */
export function corsHeaders(policy: CorsPolicy, origin: string | undefined): Headers {
  if (policy.kind === 'off') return {};
  // The answer depends on Origin whenever the policy is a list; say so to caches either way.
  const vary = { vary: 'Origin' };
  if (policy.kind === 'any') return { ...vary, 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED };
  if (origin === undefined || !policy.origins.has(origin)) return vary;
  return { ...vary, 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED };
}

/** `headers` with the CORS ones for `origin` added; both may name request headers the answer depends on, so caches get the union of Vary. */
export function withCors(headers: Headers, policy: CorsPolicy, origin: string | undefined): Headers {
  const cors = corsHeaders(policy, origin);
  if (Object.keys(cors).length === 0) return headers;
  const vary = [headers.vary, cors.vary].filter((v) => v !== undefined).join(', ');
  return { ...headers, ...cors, ...(vary === '' ? {} : { vary }) };
}

/** The answer to a preflight: 204, with permission only for an allowed origin. */
export function preflightHeaders(policy: CorsPolicy, origin: string | undefined): Headers {
  const headers = corsHeaders(policy, origin);
  if (headers['access-control-allow-origin'] === undefined) return headers;
  // A copy less one field, without object rest (the edge's ES5 lowering would need a helper for it).
  const allowed = { ...headers };
  delete allowed['access-control-expose-headers'];
  return {
    ...allowed,
    'access-control-allow-methods': CORS_METHODS,
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': '600',
  };
}
