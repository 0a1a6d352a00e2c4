import type { Conditions, RangeHint, ReadIntent } from '../storage/types';
import { parseEntityTag, parseEntityTagList } from './entity-tag';
import { parseHttpDate } from './http-date';
import { parseRangeHeader } from './range';
import type { HeaderBag } from './request';

/** What to ask storage for, and what a 412 from it would mean. */
export interface PlannedIntent {
  readonly intent: ReadIntent;
  /**
   * The If-Range entity tag was sent as `ifMatch`: a 412 then only means the range is stale, and
   * the answer is the whole current object.
   */
  readonly ifMatchFromIfRange: boolean;
}

/**
 * Translates request headers into a storage intent (pure). Only what a backend can evaluate with
 * the same meaning is passed on: one strong entity tag, valid dates, one well-formed range, and
 * never a field RFC 9110 §13.2.2 says to ignore (If-Unmodified-Since beside If-Match,
 * If-Modified-Since beside If-None-Match). The core evaluates everything again on the metadata it
 * gets back, so leaving a condition out costs bytes, never correctness. `windowCap` is the most a
 * 206 may carry (none for downloads).
 */
export function planIntent(method: 'GET' | 'HEAD', headers: HeaderBag, windowCap: number | undefined): PlannedIntent {
  const conditions: { -readonly [K in keyof Conditions]: Conditions[K] } = {};
  const ifMatchField = headers['if-match'] === undefined ? undefined : parseEntityTagList(headers['if-match']);
  if (ifMatchField !== undefined) {
    const only = singleTag(ifMatchField);
    if (only !== undefined && !only.weak) conditions.ifMatch = only.opaque;
  } else {
    const since = dateOf(headers['if-unmodified-since']);
    if (since !== undefined) conditions.ifUnmodifiedSince = since;
  }
  const ifNoneMatchField = headers['if-none-match'] === undefined ? undefined : parseEntityTagList(headers['if-none-match']);
  if (ifNoneMatchField !== undefined) {
    // Weak comparison: W/"x" matches "x", which is what storage's own comparison with "x" gives.
    const only = singleTag(ifNoneMatchField);
    if (only !== undefined) conditions.ifNoneMatch = only.opaque;
  } else {
    const since = dateOf(headers['if-modified-since']);
    if (since !== undefined) conditions.ifModifiedSince = since;
  }

  const only = (body: ReadIntent['body']): PlannedIntent => ({ intent: { body, conditions: oneClass(conditions) }, ifMatchFromIfRange: false });
  const whole = () => only({ kind: 'whole' });
  const metadata = () => only({ kind: 'none' });
  if (method === 'HEAD') return metadata();
  if (headers.range === undefined) return whole();
  const parsed = parseRangeHeader(headers.range);
  if (parsed.kind === 'ignore') return whole();
  // Several ranges: metadata first, then one read per part.
  const [spec, ...more] = parsed.specs;
  if (spec === undefined || more.length > 0) return metadata();

  let range: RangeHint;
  if (spec.kind === 'int') {
    // Past 2^53 a start is past the end of any object: ask for the size alone, for the 416.
    if (!Number.isSafeInteger(spec.first)) return metadata();
    let end = spec.last !== undefined && Number.isSafeInteger(spec.last) ? spec.last : undefined;
    // Ask only for the window a player will get. (A suffix cannot be shortened before the size is
    // known; storage sends it whole and the core reads what it needs.)
    if (windowCap !== undefined && (end === undefined || end - spec.first + 1 > windowCap)) end = spec.first + windowCap - 1;
    range = { kind: 'from', start: spec.first, end };
  } else {
    if (spec.length === 0) return metadata();
    if (!Number.isSafeInteger(spec.length)) return whole();
    range = { kind: 'suffix', length: spec.length };
  }

  let ifMatchFromIfRange = false;
  const ifRange = headers['if-range']?.trim();
  if (ifRange !== undefined) {
    if (ifRange.startsWith('"') || ifRange.startsWith('W/')) {
      const tag = parseEntityTag(ifRange);
      // A weak or malformed tag never matches (RFC 9110 §13.1.5): the range will be ignored.
      if (tag === undefined || tag.weak) return whole();
      // Storage has one If-Match; use it for If-Range only when nothing else needs a 412.
      if (conditions.ifMatch === undefined && conditions.ifUnmodifiedSince === undefined && ifMatchField === undefined) {
        conditions.ifMatch = tag.opaque;
        ifMatchFromIfRange = true;
      }
    } else if (parseHttpDate(ifRange) === undefined) {
      return whole();
    }
  }
  return { intent: { body: { kind: 'range', range }, conditions: oneClass(conditions) }, ifMatchFromIfRange };
}

/**
 * Sends conditions of one class only: servers disagree on which class wins when a request carries
 * both (Swift answers 304 where RFC 9110 says 412). The 412 class goes; the core evaluates the
 * other on the metadata that comes back.
 */
function oneClass(conditions: Conditions): Conditions {
  if (conditions.ifMatch === undefined && conditions.ifUnmodifiedSince === undefined) return conditions;
  const { ifNoneMatch: _inm, ifModifiedSince: _ims, ...preconditions } = conditions;
  return preconditions;
}

function singleTag(list: ReturnType<typeof parseEntityTagList>) {
  return list !== undefined && list !== '*' && list.length === 1 ? list[0] : undefined;
}

function dateOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseHttpDate(value);
}
