import { parseEntityTag, parseEntityTagList, strongMatch, weakMatch, type EntityTag } from './entity-tag';
import { parseHttpDate, toHttpSeconds } from './http-date';
import type { HeaderBag } from './request';

/** The validators of the selected representation. */
export interface Validators {
  readonly etag: EntityTag | undefined;
  /** Milliseconds, already truncated to whole seconds as Last-Modified carries them. */
  readonly lastModified: number;
}

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'failed';

/**
 * RFC 9110 §13.2.2, in its order: If-Match, else If-Unmodified-Since (412); then If-None-Match,
 * else If-Modified-Since (304 for GET and HEAD). A field that does not parse is ignored, as the
 * RFC requires for dates and as we choose for malformed entity-tag lists. Range and If-Range come
 * after all of these (see ifRangeHolds).
 */
export function evaluatePreconditions(method: string, headers: HeaderBag, v: Validators): PreconditionOutcome {
  const safe = method === 'GET' || method === 'HEAD';

  const ifMatch = parse(headers['if-match'], parseEntityTagList);
  if (ifMatch !== undefined) {
    if (!listMatches(ifMatch, v.etag, strongMatch)) return 'failed';
  } else {
    const since = parse(headers['if-unmodified-since'], parseHttpDate);
    if (since !== undefined && v.lastModified > since) return 'failed';
  }

  const ifNoneMatch = parse(headers['if-none-match'], parseEntityTagList);
  if (ifNoneMatch !== undefined) {
    if (listMatches(ifNoneMatch, v.etag, weakMatch)) return safe ? 'not-modified' : 'failed';
  } else if (safe) {
    const since = parse(headers['if-modified-since'], parseHttpDate);
    if (since !== undefined && v.lastModified <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * RFC 9110 §13.1.5: true when the validator in If-Range still describes the representation, so
 * the Range header applies. An entity tag must match strongly (a weak one never does); a date must
 * equal Last-Modified exactly. Anything else, malformed values included, is false: the client then
 * gets the whole current file, never ranges of a version it did not ask for.
 */
export function ifRangeHolds(value: string, v: Validators): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) {
    const tag = parseEntityTag(trimmed);
    return tag !== undefined && v.etag !== undefined && strongMatch(tag, v.etag);
  }
  const date = parseHttpDate(trimmed);
  return date !== undefined && date === v.lastModified;
}

export function validatorsOf(etag: string, lastModifiedMs: number): Validators {
  return { etag: parseEntityTag(etag), lastModified: toHttpSeconds(lastModifiedMs) };
}

function parse<T>(value: string | undefined, parser: (v: string) => T | undefined): T | undefined {
  return value === undefined ? undefined : parser(value);
}

function listMatches(
  list: '*' | EntityTag[],
  current: EntityTag | undefined,
  match: (a: EntityTag, b: EntityTag) => boolean,
): boolean {
  // The representation exists whenever these are evaluated, so `*` always matches.
  if (list === '*') return true;
  return current !== undefined && list.some((tag) => match(tag, current));
}
