/**
 * Signed links, in the manner of CloudFront or S3 presigned URLs: `?expires=<unix seconds>&
 * signature=<base64url HMAC-SHA256>` over the file name (decoded, as the route yields it) and the
 * expiry. The method is not covered, so one link serves GET, HEAD and a player's many ranges.
 *
 * This module is the whole check, free of any runtime's modules, so that the function
 * (core/signing.ts, node:crypto) and the CloudFront Function at the edge (edge/, the runtime's
 * `crypto`) run the same code and can never disagree: each passes its own HMAC in.
 */

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'expired' | 'forged';

/** HMAC-SHA256 of `message` (UTF-8) with `secret`, as unpadded base64url. */
export type Hmac = (secret: string, message: string) => string;

const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^\d{1,12}$/;

export function signedMessage(filename: string, expires: number): string {
  return `${filename}\n${expires}`;
}

/**
 * `expires` and `signature` are every value of those query parameters, decoded. Anything but one
 * of each, well formed, is malformed; neither is missing.
 */
export function verifySignedLink(
  expires: readonly string[],
  signature: readonly string[],
  filename: string,
  secret: string,
  nowSeconds: number,
  hmac: Hmac,
): SignatureCheck {
  if (expires.length === 0 && signature.length === 0) return 'missing';
  const [expiresText = '', signatureText = ''] = [expires[0], signature[0]];
  if (expires.length !== 1 || signature.length !== 1 || !EXPIRES.test(expiresText) || !SIGNATURE.test(signatureText)) return 'malformed';
  // Compare before looking at the expiry, so that time never tells a forged link from a stale one.
  if (!sameText(hmac(secret, signedMessage(filename, Number(expiresText))), signatureText)) return 'forged';
  return Number(expiresText) < nowSeconds ? 'expired' : 'valid';
}

/**
 * Constant-time equality of two strings of the same length (both sides are 43 base64url
 * characters here): no early exit, so the time taken says nothing about where they differ.
 * Written out because the edge runtime has no timingSafeEqual (nor a documented charCodeAt:
 * codePointAt at each index tells the UTF-16 unit there as well).
 */
export function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= (a.codePointAt(i) ?? 0) ^ (b.codePointAt(i) ?? 0);
  return difference === 0;
}
