
/**
 * The name a download is saved under: the title part of `title__task-id.ext` plus the extension
 * ("My_Video__123e4567.mp4" → "My_Video.mp4"); a name without "__" is kept as it is.
 */
export function downloadFilename(storedName: string): string {
  const dot = storedName.lastIndexOf('.');
  const extension = dot > 0 ? storedName.slice(dot) : '';
  const stem = dot > 0 ? storedName.slice(0, dot) : storedName;
  const separator = stem.lastIndexOf('__');
  return (separator > 0 ? stem.slice(0, separator) : stem) + extension;
}

/**
 * `Content-Disposition: attachment` with RFC 6266 / RFC 5987 `filename*=UTF-8''…` for the real
 * name, and an ASCII `filename=` for old clients (see asciiFallback).
 */
export function attachmentDisposition(storedName: string): string {
  return attachmentDispositionWith(asciiFallback, storedName);
}

/**
 * The same with another way to make the ASCII fallback: the edge runtime has no
 * String.prototype.normalize, and brings a table of the folds it can do (edge/).
 *
 * The header is what content-disposition's create(filename, { type: 'attachment', fallback })
 * makes of these inputs (a test holds the two equal), written out because that module is 2 KB
 * of the edge's 10: a name the fallback keeps as it is goes alone, otherwise the fallback and
 * the RFC 8187 `filename*`; a value of token characters goes bare, any other quoted.
 */
export function attachmentDispositionWith(fallbackOf: (filename: string) => string, storedName: string): string {
  const filename = downloadFilename(storedName);
  const fallback = fallbackOf(filename);
  if (fallback === filename) return `attachment; filename=${quoted(filename)}`;
  const extended = encodeURIComponent(filename).replace(ATTR_CHAR, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename=${quoted(fallback)}; filename*=UTF-8''${extended}`;
}

// RFC 9110 token characters; and what RFC 8187's attr-char leaves out, that encodeURIComponent keeps.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTR_CHAR = /[\x00-\x20"'()*,/:;<=>?@[\\\]{}\x7f]/g;

/** A token as it is, anything else as a quoted-string (the fallback is printable ASCII with neither quote nor backslash). */
function quoted(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Accents dropped ("Ñandú" → "Nandu"), anything else outside printable ASCII, and the quote and
 * backslash, replaced by "_" (one per UTF-16 unit).
 */
export function asciiFallback(filename: string): string {
  return filename
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]|["\\]/g, '_');
}
