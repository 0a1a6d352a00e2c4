import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed links, in the manner of CloudFront or S3 presigned URLs: `?expires=<unix seconds>&
 * signature=<base64url HMAC-SHA256>` over the file name (decoded, as the route yields it) and the
 * expiry. The method is not covered, so one link serves GET, HEAD and a player's many ranges.
 */

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'expired' | 'forged';

const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^\d{1,12}$/;

export function signature(secret: string, filename: string, expires: number): string {
  return createHmac('sha256', secret).update(`${filename}\n${expires}`, 'utf8').digest('base64url');
}

/** The query string that makes a link to `filename` valid until now + ttl. */
export function signedQuery(filename: string, secret: string, ttlSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const expires = nowSeconds + ttlSeconds;
  return `expires=${expires}&signature=${signature(secret, filename, expires)}`;
}

/** `/api/stream/<name>?expires=…&signature=…`, percent-encoded, ready to hand out. */
export function signedPath(filename: string, secret: string, ttlSeconds: number, nowSeconds?: number): string {
  return `/api/stream/${encodeURIComponent(filename)}?${signedQuery(filename, secret, ttlSeconds, nowSeconds)}`;
}

export function checkSignature(rawQuery: string, filename: string, secret: string, nowSeconds: number): SignatureCheck {
  const query = new URLSearchParams(rawQuery);
  const expires = query.getAll('expires');
  const given = query.getAll('signature');
  if (expires.length === 0 && given.length === 0) return 'missing';
  const [expiresText = '', signatureText = ''] = [expires[0], given[0]];
  if (expires.length !== 1 || given.length !== 1 || !EXPIRES.test(expiresText) || !SIGNATURE.test(signatureText)) return 'malformed';
  // Compare before looking at the expiry, so that time never tells a forged link from a stale one.
  // Both sides are 43 ASCII characters: compared as text, in constant time.
  const expected = Buffer.from(signature(secret, filename, Number(expiresText)), 'ascii');
  const matches = timingSafeEqual(expected, Buffer.from(signatureText, 'ascii'));
  if (!matches) return 'forged';
  return Number(expiresText) < nowSeconds ? 'expired' : 'valid';
}
