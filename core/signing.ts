import { createHmac } from 'node:crypto';
import { queryValues } from './query';
import { STREAM_PREFIX } from './route';
import { signedMessage, verifySignedLink, type Hmac, type SignatureCheck } from './signed-link';

/** Signed links with node:crypto: making them (npm run sign, the download service) and checking them (core/signed-link.ts). */

export type { SignatureCheck } from './signed-link';

export const nodeHmac: Hmac = (secret, message) => createHmac('sha256', secret).update(message, 'utf8').digest('base64url');

export function signature(secret: string, filename: string, expires: number): string {
  return nodeHmac(secret, signedMessage(filename, expires));
}

/** The query string that makes a link to `filename` valid until now + ttl. */
export function signedQuery(filename: string, secret: string, ttlSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const expires = nowSeconds + ttlSeconds;
  return `expires=${expires}&signature=${signature(secret, filename, expires)}`;
}

/** `/api/stream/<name>?expires=…&signature=…`, percent-encoded, ready to hand out. */
export function signedPath(filename: string, secret: string, ttlSeconds: number, nowSeconds?: number): string {
  return `${STREAM_PREFIX}${encodeURIComponent(filename)}?${signedQuery(filename, secret, ttlSeconds, nowSeconds)}`;
}

export function checkSignature(rawQuery: string, filename: string, secret: string, nowSeconds: number): SignatureCheck {
  const values = queryValues(rawQuery);
  return verifySignedLink(values('expires'), values('signature'), filename, secret, nowSeconds, nodeHmac);
}
