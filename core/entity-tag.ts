/**
 * Entity tags (RFC 9110 §8.8.3) and the lists that If-Match / If-None-Match carry. Hand-written
 * because the comparison rules (strong vs weak) are the product itself and the grammar is tiny;
 * note that a comma is a legal character inside an opaque tag, so lists cannot be split on ",".
 */

export interface EntityTag {
  readonly weak: boolean;
  /** The quoted opaque part, quotes included: `"abc"`. */
  readonly opaque: string;
}

// No Set, and codePointAt rather than charCodeAt: the edge runtime (edge/) documents neither.
const isOws = (ch: string) => ch === ' ' || ch === '\t';

function isEtagChar(code: number): boolean {
  // etagc = %x21 / %x23-7E / obs-text
  return code === 0x21 || (code >= 0x23 && code <= 0x7e) || code >= 0x80;
}

/** Reads one entity-tag at `start`; returns it and the index after it, or undefined. */
function readTag(value: string, start: number): { tag: EntityTag; next: number } | undefined {
  let i = start;
  let weak = false;
  if (value.startsWith('W/', i)) {
    weak = true;
    i += 2;
  }
  if (value[i] !== '"') return undefined;
  const open = i;
  i += 1;
  while (i < value.length && value[i] !== '"') {
    if (!isEtagChar(value.codePointAt(i) ?? 0)) return undefined;
    i += 1;
  }
  if (i >= value.length) return undefined;
  return { tag: { weak, opaque: value.slice(open, i + 1) }, next: i + 1 };
}

export function parseEntityTag(value: string): EntityTag | undefined {
  const trimmed = value.trim();
  const read = readTag(trimmed, 0);
  return read && read.next === trimmed.length ? read.tag : undefined;
}

/**
 * `*` or a list of one or more entity tags. Empty list elements are skipped, as RFC 9110 §5.6.1.2
 * requires; anything else that does not fit the grammar makes the whole field malformed
 * (undefined), and a malformed validator is ignored by the caller.
 */
export function parseEntityTagList(value: string): '*' | EntityTag[] | undefined {
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  const tags: EntityTag[] = [];
  let i = 0;
  let expectTag = true;
  while (i < trimmed.length) {
    const ch = trimmed[i] ?? '';
    if (isOws(ch)) {
      i += 1;
    } else if (ch === ',') {
      expectTag = true;
      i += 1;
    } else {
      if (!expectTag) return undefined;
      const read = readTag(trimmed, i);
      if (!read) return undefined;
      tags.push(read.tag);
      i = read.next;
      expectTag = false;
    }
  }
  return tags.length > 0 ? tags : undefined;
}

export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}
