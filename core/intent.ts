import type { Conditions, RangeHint, ReadIntent } from '../storage/types';
import type { ParsedRequest } from './parsed-request';
import type { TagList } from './preconditions';
import type { RangeSpec } from './range';
import type { WindowDecision } from './window-policy';

/** What to ask storage for, and what each of its refusals means. */
export interface PlannedIntent {
  readonly intent: ReadIntent;
  /**
   * The If-Range entity tag was sent as `ifMatch`: a 412 then only means the range is stale, and
   * the answer is the whole current object.
   */
  readonly ifMatchFromIfRange: boolean;
  /**
   * A 416 from storage is the answer: the request has no precondition and no If-Range, the only
   * things RFC 9110 evaluates before the range (§13.2.2, §13.1.5). Otherwise the core asks for
   * the metadata and decides itself: some were not shown to storage, and for those that were,
   * nothing makes a server evaluate them before the range (Swift does; the rule need not rely on it).
   */
  readonly unsatisfiableIsAnswer: boolean;
}

/**
 * Translates a parsed request into a storage intent (pure). A condition is sent only where a
 * refusal of storage's on it alone is the answer RFC 9110 §13.2.2 gives the whole request, so that
 * a 304 or 412 from storage never has to be second-guessed:
 * - If-Match (one strong tag) and If-Unmodified-Since: they come first, so their 412 is the answer;
 * - If-None-Match (one tag) and If-Modified-Since: only when the request has neither of those,
 *   since a 412-class condition storage was not shown (a list, a weak tag) would come first.
 * The core evaluates everything again on the metadata of a found object, so leaving a condition
 * out costs bytes, never correctness. A range is cut to the window the plan will send, if one applies.
 */
export function planIntent(request: ParsedRequest): PlannedIntent {
  const { preconditions: p, range: parsed, window, ifRange } = request;
  const conditions: { -readonly [K in keyof Conditions]: Conditions[K] } = {};
  const ifMatch = singleTag(p.ifMatch);
  if (ifMatch !== undefined && !ifMatch.weak) conditions.ifMatch = ifMatch.opaque;
  if (p.ifUnmodifiedSince !== undefined) conditions.ifUnmodifiedSince = p.ifUnmodifiedSince;
  const failClass = p.ifMatch !== undefined || p.ifUnmodifiedSince !== undefined;
  if (!failClass) {
    // Weak comparison: W/"x" matches "x", which is what storage's own comparison with "x" gives.
    const ifNoneMatch = singleTag(p.ifNoneMatch);
    if (ifNoneMatch !== undefined) conditions.ifNoneMatch = ifNoneMatch.opaque;
    if (p.ifModifiedSince !== undefined) conditions.ifModifiedSince = p.ifModifiedSince;
  }
  const unconditional = !failClass && p.ifNoneMatch === undefined && p.ifModifiedSince === undefined && ifRange === undefined;

  const only = (body: ReadIntent['body']): PlannedIntent => ({ intent: { body, conditions }, ifMatchFromIfRange: false, unsatisfiableIsAnswer: unconditional });
  const whole = () => only({ kind: 'whole' });
  const metadata = () => only({ kind: 'none' });
  if (request.method === 'HEAD') return metadata();
  if (parsed === undefined || parsed.kind === 'ignore') return whole();
  // Several ranges: metadata first, then one read per part.
  const [spec, ...more] = parsed.specs;
  if (spec === undefined || more.length > 0) return metadata();

  const range = rangeHint(spec, window);
  if (range === 'none') return metadata();
  if (range === 'whole') return whole();

  if (ifRange?.kind === 'never') return whole();
  // Storage has one If-Match; use it for If-Range only when nothing else needs a 412. (A date may
  // hold; the core compares it with Last-Modified once it has the metadata.) Servers disagree on
  // which class wins when a request carries both (Swift answers 304 where RFC 9110 says 412), so
  // the 304 class then stays with the core.
  if (ifRange?.kind === 'tag' && !failClass) {
    return { intent: { body: { kind: 'range', range }, conditions: { ifMatch: ifRange.tag.opaque } }, ifMatchFromIfRange: true, unsatisfiableIsAnswer: false };
  }
  return { intent: { body: { kind: 'range', range }, conditions }, ifMatchFromIfRange: false, unsatisfiableIsAnswer: unconditional };
}

/**
 * The one range to ask storage for, for a request of one range-spec: `none` to ask for the size
 * alone, `whole` for the whole object. The viewer-request function at the edge (edge/) asks S3
 * for the same range.
 */
export function rangeHint(spec: RangeSpec, window: Pick<WindowDecision, 'applies' | 'limit'>): RangeHint | 'none' | 'whole' {
  if (spec.kind === 'int') {
    // Past 2^53 a start is past the end of any object: ask for the size alone, for the 416.
    if (!Number.isSafeInteger(spec.first)) return 'none';
    let end = spec.last !== undefined && Number.isSafeInteger(spec.last) ? spec.last : undefined;
    // Ask only for the window the client will get. (A suffix cannot be shortened before the size
    // is known; storage sends it whole and the core reads what it needs.)
    if (window.applies && (end === undefined || end - spec.first + 1 > window.limit)) end = spec.first + window.limit - 1;
    return { kind: 'from', start: spec.first, end };
  }
  if (spec.length === 0) return 'none';
  if (!Number.isSafeInteger(spec.length)) return 'whole';
  return { kind: 'suffix', length: spec.length };
}

function singleTag(list: TagList | undefined) {
  return list !== undefined && list !== '*' && list.length === 1 ? list[0] : undefined;
}
