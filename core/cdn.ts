import { queryValues } from './query';
import type { StreamRequest } from './request';

/**
 * What the function (CDN_MODE=true) and the CloudFront Functions at the edge (edge/) agree on.
 * One module, so that the two origins behind the distribution (S3, answered through the
 * viewer-response function, and this function) give the same headers.
 */

/**
 * Requests S3 cannot answer as the core would (several ranges, If-Match, If-Unmodified-Since,
 * If-Range, a range S3 would misread) go to the function with their Range and conditional
 * fields moved into this one header. CloudFront interprets Range itself (it serves ranges from
 * its cache, may ask the origin for a larger one, and answers 200 to ranges that are not
 * ascending or overlap: "How CloudFront processes partial requests"), so those fields must not
 * reach it under their own names; and the header is in the cache key, so such a request never
 * meets a cached whole object. The viewer-request function deletes any copy a viewer sends.
 */
export const DIRECT_HEADER = 'x-stream-direct';
export const DIRECT_FIELDS = ['range', 'if-match', 'if-unmodified-since', 'if-range', 'if-none-match', 'if-modified-since'] as const;

/** On the function's answers below 400 in CDN mode: the viewer-response function leaves their own headers alone, and removes it. */
export const FROM_FUNCTION_HEADER = 'x-stream-origin';

export interface CdnSettings {
  /** CDN_MAX_AGE: seconds a file's bytes stay fresh (a stored file never changes under its task-id name). */
  readonly maxAge: number;
  /** CDN_ERROR_MAX_AGE: seconds a 404 stays fresh (a download may appear once its task completes). */
  readonly errorMaxAge: number;
  /** Links are signed: answers are for one viewer's link, never for shared caches. */
  readonly signed: boolean;
}

export const DEFAULT_CDN_MAX_AGE = 31_536_000;
export const DEFAULT_CDN_ERROR_MAX_AGE = 60;

/**
 * The Cache-Control of every answer, wherever it is made:
 * - the file's bytes (200, 206, 304): a year, immutable, for everyone; with signed links
 *   `private, no-cache`, so that a browser may keep the bytes but asks again (through the edge,
 *   which checks the link) before using them: nothing outlives the link. CloudFront's own TTL for
 *   them is the cache policy's (the stack), since S3 sends no Cache-Control;
 * - 404: briefly (the file may appear under its name once its download task completes);
 * - 416: never stored. CloudFront's cache key has no Range, so a stored 416 would answer every
 *   later range of that file, satisfiable or not, for as long as it is kept;
 * - requests sent to the function directly, redirects to presigned URLs, and every other answer
 *   (refusals made per request, 412, 5xx): never stored.
 */
export function cdnCacheControl(status: number, direct: boolean, settings: CdnSettings): string {
  if (direct) return 'no-store';
  if (status === 200 || status === 206 || status === 304) return settings.signed ? 'private, no-cache' : `public, max-age=${settings.maxAge}, immutable`;
  if (status === 404) return `max-age=${settings.errorMaxAge}`;
  return 'no-store';
}

/** The fields of DIRECT_FIELDS a request carries, as the value of DIRECT_HEADER (undefined: none). */
export function encodeDirect(field: (name: string) => string | undefined): string {
  const pairs: string[] = [];
  for (const name of DIRECT_FIELDS) {
    const value = field(name);
    if (value !== undefined) pairs.push(`${name}=${encodeURIComponent(value)}`);
  }
  // Never empty: an empty header value could be dropped on the way, and the request is direct.
  return pairs.length === 0 ? 'direct' : pairs.join('&');
}

/**
 * The request as the viewer sent it: DIRECT_HEADER's fields put back under their own names
 * (and none of the viewer's, which the edge removed). `direct` tells the answer's Cache-Control.
 */
export function restoreDirect(request: StreamRequest): { readonly request: StreamRequest; readonly direct: boolean } {
  const value = request.headers[DIRECT_HEADER];
  if (value === undefined) return { request, direct: false };
  const values = queryValues(value);
  const headers: Record<string, string | undefined> = { ...request.headers };
  delete headers[DIRECT_HEADER];
  for (const name of DIRECT_FIELDS) {
    const [restored] = values(name);
    if (restored === undefined) delete headers[name];
    else headers[name] = restored;
  }
  return { request: { ...request, headers }, direct: true };
}
