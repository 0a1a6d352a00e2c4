import type { ByteWindow } from '../storage/types';

/**
 * The Range header (RFC 9110 §14.1-14.2), parsed without knowing the file, then resolved against
 * its size. Hand-written: this is the heart of the product and no library gets every RFC 9110
 * detail right (suffix ranges longer than the file, empty list elements, numbers past 2^53).
 */

export type RangeSpec =
  | { readonly kind: 'int'; readonly first: number; readonly last: number | undefined }
  | { readonly kind: 'suffix'; readonly length: number };

export type ParsedRange =
  /** Not a byte range set we understand: the header is ignored and the whole file is sent. */
  | { readonly kind: 'ignore' }
  | { readonly kind: 'bytes'; readonly specs: readonly RangeSpec[] };

export type ResolvedRange =
  | { readonly kind: 'unsatisfiable' }
  /** Satisfiable, but the answer is the whole representation (an empty file asked for a suffix). */
  | { readonly kind: 'whole' }
  /** Disjoint, non-adjacent windows, in the order their first range-spec appeared. */
  | { readonly kind: 'windows'; readonly windows: readonly ByteWindow[] };

const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;
const IGNORE: ParsedRange = { kind: 'ignore' };

/** Compares two digit strings as integers of any length (Number() loses precision past 2^53). */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function parseRangeHeader(value: string): ParsedRange {
  const field = value.trim();
  const eq = field.indexOf('=');
  if (eq <= 0) return IGNORE;
  const unit = field.slice(0, eq);
  // Range units are case-insensitive; any unit but bytes is not ours to serve.
  if (unit.toLowerCase() !== 'bytes') return IGNORE;
  const specs: RangeSpec[] = [];
  for (const element of field.slice(eq + 1).split(',')) {
    const item = element.replace(/^[ \t]+|[ \t]+$/g, '');
    // Empty list elements are legal and do not count (RFC 9110 §5.6.1.2).
    if (item === '') continue;
    const int = INT_RANGE.exec(item);
    if (int) {
      const [, first = '', last = ''] = int;
      // last < first makes the whole ranges-specifier invalid, hence ignored.
      if (last !== '' && compareDigits(last, first) < 0) return IGNORE;
      // Past 2^53 a number is only ever compared with a size below it, where
      // Number()'s rounding (or Infinity) cannot change the outcome.
      specs.push({ kind: 'int', first: Number(first), last: last === '' ? undefined : Number(last) });
      continue;
    }
    const suffix = SUFFIX_RANGE.exec(item);
    if (suffix) {
      specs.push({ kind: 'suffix', length: Number(suffix[1]) });
      continue;
    }
    return IGNORE;
  }
  return specs.length > 0 ? { kind: 'bytes', specs } : IGNORE;
}

/** The window one spec selects in a file of `size` bytes, or undefined when unsatisfiable. */
export function windowSelected(spec: RangeSpec, size: number): ByteWindow | undefined {
  if (spec.kind === 'int') {
    if (spec.first >= size) return undefined;
    const end = spec.last === undefined || spec.last >= size ? size - 1 : spec.last;
    return { start: spec.first, end };
  }
  if (spec.length === 0 || size === 0) return undefined;
  return { start: spec.length >= size ? 0 : size - spec.length, end: size - 1 };
}

/**
 * RFC 9110 §14.1.1-14.1.2: a spec is satisfiable when its first-pos is inside the file, or it is a
 * suffix of non-zero length. Overlapping and adjacent windows are combined (§14.6 allows it
 * whatever the order), so a header of many overlapping ranges costs what their union costs.
 */
export function resolveRanges(specs: readonly RangeSpec[], size: number): ResolvedRange {
  const found: Array<{ start: number; end: number; order: number }> = [];
  let suffixOnEmpty = false;
  specs.forEach((spec, order) => {
    const window = windowSelected(spec, size);
    if (window) found.push({ ...window, order });
    else if (spec.kind === 'suffix' && spec.length > 0) suffixOnEmpty = true;
  });
  if (found.length === 0) return suffixOnEmpty ? { kind: 'whole' } : { kind: 'unsatisfiable' };

  found.sort((a, b) => a.start - b.start || a.order - b.order);
  const merged: Array<{ start: number; end: number; order: number }> = [];
  for (const w of found) {
    const last = merged[merged.length - 1];
    if (last && w.start <= last.end + 1) {
      last.end = Math.max(last.end, w.end);
      last.order = Math.min(last.order, w.order);
    } else {
      merged.push({ ...w });
    }
  }
  // RFC 9110 §15.3.7.2: parts SHOULD come in the order their range-specs were received.
  merged.sort((a, b) => a.order - b.order);
  return { kind: 'windows', windows: merged.map(({ start, end }) => ({ start, end })) };
}
