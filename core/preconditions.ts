import { parseEntityTag, parseEntityTagList, strongMatch, weakMatch, type EntityTag } from './entity-tag';
import { parseHttpDate, toHttpSeconds } from './http-date';
import type { HeaderBag } from './request';

/** The validators of the selected representation. */
export interface Validators {
  readonly etag: EntityTag | undefined;
  /** Milliseconds, already truncated to whole seconds as Last-Modified carries them. */
  readonly lastModified: number;
}

/** An entity-tag list as If-Match / If-None-Match carry it. */
export type TagList = '*' | readonly EntityTag[];

/**
 * The conditional header fields of a request, parsed, with what RFC 9110 §13.2.2 says to ignore
 * already left out: If-Unmodified-Since when If-Match is there, If-Modified-Since when
 * If-None-Match is. A field that does not parse is absent (undefined), as the RFC requires for
 * dates and as we choose for malformed entity-tag lists; so a malformed If-Match lets
 * If-Unmodified-Since apply, as it would without the field.
 */
export interface Preconditions {
  readonly ifMatch: TagList | undefined;
  readonly ifUnmodifiedSince: number | undefined;
  readonly ifNoneMatch: TagList | undefined;
  readonly ifModifiedSince: number | undefined;
}

/**
 * If-Range (RFC 9110 §13.1.5): an entity tag or a date; `never` for a weak, malformed or
 * unparseable value, which can never hold, so the Range header is then ignored.
 */
export type IfRange = { readonly kind: 'tag'; readonly tag: EntityTag } | { readonly kind: 'date'; readonly ms: number } | { readonly kind: 'never' };

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'failed';

export function parsePreconditions(headers: HeaderBag): Preconditions {
  const ifMatch = parse(headers['if-match'], parseEntityTagList);
  const ifNoneMatch = parse(headers['if-none-match'], parseEntityTagList);
  return {
    ifMatch,
    ifUnmodifiedSince: ifMatch === undefined ? parse(headers['if-unmodified-since'], parseHttpDate) : undefined,
    ifNoneMatch,
    ifModifiedSince: ifNoneMatch === undefined ? parse(headers['if-modified-since'], parseHttpDate) : undefined,
  };
}

export function parseIfRange(value: string): IfRange {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) {
    const tag = parseEntityTag(trimmed);
    // A weak tag never matches (strong comparison is required).
    return tag === undefined || tag.weak ? { kind: 'never' } : { kind: 'tag', tag };
  }
  const ms = parseHttpDate(trimmed);
  return ms === undefined ? { kind: 'never' } : { kind: 'date', ms };
}

/**
 * RFC 9110 §13.2.2, in its order: If-Match, else If-Unmodified-Since (412); then If-None-Match,
 * else If-Modified-Since (304 for GET and HEAD). Range and If-Range come after all of these (see
 * ifRangeHolds).
 */
export function evaluatePreconditions(method: string, p: Preconditions, v: Validators): PreconditionOutcome {
  const safe = method === 'GET' || method === 'HEAD';
  if (p.ifMatch !== undefined && !listMatches(p.ifMatch, v.etag, strongMatch)) return 'failed';
  if (p.ifUnmodifiedSince !== undefined && v.lastModified > p.ifUnmodifiedSince) return 'failed';
  if (p.ifNoneMatch !== undefined && listMatches(p.ifNoneMatch, v.etag, weakMatch)) return safe ? 'not-modified' : 'failed';
  if (safe && p.ifModifiedSince !== undefined && v.lastModified <= p.ifModifiedSince) return 'not-modified';
  return 'proceed';
}

/**
 * True when the validator in If-Range still describes the representation, so the Range header
 * applies: an entity tag must match strongly, a date must equal Last-Modified exactly. Otherwise
 * the client gets the whole current file, never ranges of a version it did not ask for.
 */
export function ifRangeHolds(ifRange: IfRange, v: Validators): boolean {
  if (ifRange.kind === 'tag') return v.etag !== undefined && strongMatch(ifRange.tag, v.etag);
  return ifRange.kind === 'date' && ifRange.ms === v.lastModified;
}

export function validatorsOf(etag: string, lastModifiedMs: number): Validators {
  return { etag: parseEntityTag(etag), lastModified: toHttpSeconds(lastModifiedMs) };
}

function parse<T>(value: string | undefined, parser: (v: string) => T | undefined): T | undefined {
  return value === undefined ? undefined : parser(value);
}

function listMatches(list: TagList, current: EntityTag | undefined, match: (a: EntityTag, b: EntityTag) => boolean): boolean {
  // The representation exists whenever these are evaluated, so `*` always matches.
  if (list === '*') return true;
  return current !== undefined && list.some((tag) => match(tag, current));
}
