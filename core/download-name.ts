import { create } from 'content-disposition';

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
 */
export function attachmentDispositionWith(fallbackOf: (filename: string) => string, storedName: string): string {
  const filename = downloadFilename(storedName);
  return create(filename, { type: 'attachment', fallback: fallbackOf(filename) });
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
