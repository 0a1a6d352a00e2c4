/**
 * Which file a request path names. The file name is percent-decoded exactly once and must be a
 * plain name directly inside the storage root; everything else is refused here, before any
 * backend sees it, so no backend has to be trusted to handle `..` or a NUL byte.
 */

import { utf8Length } from './utf8';

export const STREAM_PREFIX = '/api/stream/';
const MAX_NAME_BYTES = 255;

export type RouteMatch =
  | { readonly kind: 'file'; readonly name: string }
  | { readonly kind: 'bad-name'; readonly reason: string }
  | { readonly kind: 'no-route' };

// RFC 3986 allows only these unencoded in a path; everything else must arrive percent-encoded.
const RAW_PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
// C0 and C1 controls and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// "C:" or "c:foo": a drive letter makes a name absolute (or drive-relative) on Windows.
const DRIVE = /^[A-Za-z]:/;

export function matchStreamRoute(rawPath: string): RouteMatch {
  if (!rawPath.startsWith(STREAM_PREFIX)) return { kind: 'no-route' };
  const raw = rawPath.slice(STREAM_PREFIX.length);
  if (raw === '') return { kind: 'no-route' };
  if (!RAW_PATH_CHARS.test(raw)) return bad('characters that must be percent-encoded');
  if (raw.includes('/')) return bad('a path separator');
  let name: string;
  try {
    // Throws on malformed escapes and on bytes that are not UTF-8 (overlong forms included).
    name = decodeURIComponent(raw);
  } catch {
    return bad('invalid percent-encoding or UTF-8');
  }
  if (name.includes('/') || name.includes('\\')) return bad('a path separator');
  if (CONTROL.test(name)) return bad('a control character');
  // Covers ".", ".." and every dotfile (.env, .htaccess, .git): none of them is a download.
  if (name.startsWith('.')) return bad('a leading dot');
  if (DRIVE.test(name)) return bad('a drive letter');
  if (utf8Length(name) > MAX_NAME_BYTES) return bad('more than 255 bytes');
  return { kind: 'file', name };
}

function bad(reason: string): RouteMatch {
  return { kind: 'bad-name', reason };
}
