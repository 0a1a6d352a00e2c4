import { describe, expect, it } from 'vitest';
import { evaluatePreconditions, ifRangeHolds as holds, parseIfRange, parsePreconditions, validatorsOf, type Validators } from '../../core/preconditions';
import { formatHttpDate } from '../../core/http-date';

const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5) + 678; // fractions are dropped, as HTTP-dates carry none
const v = validatorsOf('"v1"', MTIME);
const at = (offsetSeconds: number) => formatHttpDate(Date.UTC(2024, 0, 2, 3, 4, 5) + offsetSeconds * 1000);
const evaluate = (headers: Record<string, string>, method = 'GET') => evaluatePreconditions(method, parsePreconditions(headers), v);
const ifRangeHolds = (value: string, validators: Validators) => holds(parseIfRange(value), validators);

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  it('proceeds without conditional headers', () => {
    expect(evaluate({})).toBe('proceed');
  });

  it('If-Match: strong comparison, * matches, no match is 412', () => {
    expect(evaluate({ 'if-match': '"v1"' })).toBe('proceed');
    expect(evaluate({ 'if-match': '"v0", "v1"' })).toBe('proceed');
    expect(evaluate({ 'if-match': '*' })).toBe('proceed');
    expect(evaluate({ 'if-match': '"v0"' })).toBe('failed');
    expect(evaluate({ 'if-match': 'W/"v1"' })).toBe('failed');
  });

  it('If-Unmodified-Since: 412 when modified after the date', () => {
    expect(evaluate({ 'if-unmodified-since': at(0) })).toBe('proceed');
    expect(evaluate({ 'if-unmodified-since': at(10) })).toBe('proceed');
    expect(evaluate({ 'if-unmodified-since': at(-1) })).toBe('failed');
  });

  it('If-Match wins over If-Unmodified-Since (step 2 only runs without If-Match)', () => {
    expect(evaluate({ 'if-match': '"v1"', 'if-unmodified-since': at(-100) })).toBe('proceed');
  });

  it('If-None-Match: weak comparison, 304 for GET and HEAD, 412 for other methods', () => {
    expect(evaluate({ 'if-none-match': '"v1"' })).toBe('not-modified');
    expect(evaluate({ 'if-none-match': 'W/"v1"' })).toBe('not-modified');
    expect(evaluate({ 'if-none-match': '*' }, 'HEAD')).toBe('not-modified');
    expect(evaluate({ 'if-none-match': '"v0"' })).toBe('proceed');
    expect(evaluate({ 'if-none-match': '"v1"' }, 'DELETE')).toBe('failed');
  });

  it('If-Modified-Since: 304 unless modified after the date; ignored with If-None-Match', () => {
    expect(evaluate({ 'if-modified-since': at(0) })).toBe('not-modified');
    expect(evaluate({ 'if-modified-since': at(60) })).toBe('not-modified');
    expect(evaluate({ 'if-modified-since': at(-1) })).toBe('proceed');
    expect(evaluate({ 'if-none-match': '"v0"', 'if-modified-since': at(60) })).toBe('proceed');
    expect(evaluate({ 'if-modified-since': at(0) }, 'POST')).toBe('proceed');
  });

  it('412 is decided before 304', () => {
    expect(evaluate({ 'if-match': '"v0"', 'if-none-match': '"v1"' })).toBe('failed');
    expect(evaluate({ 'if-unmodified-since': at(-1), 'if-modified-since': at(0) })).toBe('failed');
  });

  it('ignores malformed validators', () => {
    expect(evaluate({ 'if-match': 'v0' })).toBe('proceed');
    expect(evaluate({ 'if-unmodified-since': 'yesterday' })).toBe('proceed');
    expect(evaluate({ 'if-none-match': 'v1' })).toBe('proceed');
    expect(evaluate({ 'if-modified-since': '2024' })).toBe('proceed');
    expect(evaluate({ 'if-none-match': '' })).toBe('proceed');
  });
});

describe('ifRangeHolds (RFC 9110 §13.1.5)', () => {
  it('compares entity tags strongly and exactly', () => {
    expect(ifRangeHolds('"v1"', v)).toBe(true);
    expect(ifRangeHolds(' "v1" ', v)).toBe(true);
    expect(ifRangeHolds('"v2"', v)).toBe(false);
    expect(ifRangeHolds('W/"v1"', v)).toBe(false);
    expect(ifRangeHolds('"v1", "v2"', v)).toBe(false);
  });

  it('holds for a date only if it equals Last-Modified', () => {
    expect(ifRangeHolds(at(0), v)).toBe(true);
    expect(ifRangeHolds(at(1), v)).toBe(false);
    expect(ifRangeHolds(at(-1), v)).toBe(false);
  });

  it('is false for anything malformed', () => {
    for (const value of ['', 'v1', '*', 'tomorrow', '"unterminated']) expect(ifRangeHolds(value, v)).toBe(false);
  });

  it('never matches a weak current tag', () => {
    expect(ifRangeHolds('"v1"', validatorsOf('W/"v1"', MTIME))).toBe(false);
  });
});
