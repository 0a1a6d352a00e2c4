import { describe, expect, it } from 'vitest';
import { planIntent } from '../../core/intent';
import { parseRequest } from '../../core/parsed-request';

const NOV = 'Sun, 06 Nov 1994 08:49:37 GMT';
const NOV_MS = Date.UTC(1994, 10, 6, 8, 49, 37);
// A cap: every client gets windows of that size (RANGE_WINDOWS=all); none: nobody does (off).
const parsed = (method: 'GET' | 'HEAD', headers: Record<string, string>, cap?: number) =>
  parseRequest(method, headers, '', cap === undefined ? { policy: 'off', maxRangeBytes: 1 } : { policy: 'all', maxRangeBytes: cap });
const get = (headers: Record<string, string>, cap?: number) => planIntent(parsed('GET', headers, cap));

describe('planIntent', () => {
  it('asks for the whole object without Range, and for metadata only on HEAD', () => {
    expect(get({})).toEqual({ intent: { body: { kind: 'whole' }, conditions: {} }, ifMatchFromIfRange: false, unsatisfiableIsAnswer: true });
    expect(planIntent(parsed('HEAD', { range: 'bytes=0-1' }, 100)).intent.body).toEqual({ kind: 'none' });
  });

  it('passes one well-formed range on, normalised', () => {
    expect(get({ range: 'bytes=10-20' }).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: 20 } });
    expect(get({ range: 'bytes=10-' }).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: undefined } });
    expect(get({ range: 'bytes=-500' }).intent.body).toEqual({ kind: 'range', range: { kind: 'suffix', length: 500 } });
    expect(get({ range: ' BYTES = 1-2' }).intent.body).toEqual({ kind: 'whole' });
    // An end past 2^53 is the end of the object; storage must never see the raw digits.
    expect(get({ range: `bytes=10-${'9'.repeat(30)}` }).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: undefined } });
    expect(get({ range: `bytes=-${'9'.repeat(30)}` }).intent.body).toEqual({ kind: 'whole' });
  });

  it('asks storage only for the window a player will get', () => {
    expect(get({ range: 'bytes=10-' }, 100).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: 109 } });
    expect(get({ range: 'bytes=10-1000' }, 100).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: 109 } });
    expect(get({ range: 'bytes=10-50' }, 100).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: 50 } });
    expect(get({ range: `bytes=10-${'9'.repeat(30)}` }, 100).intent.body).toEqual({ kind: 'range', range: { kind: 'from', start: 10, end: 109 } });
    // A suffix cannot be shortened before the size is known.
    expect(get({ range: 'bytes=-5000' }, 100).intent.body).toEqual({ kind: 'range', range: { kind: 'suffix', length: 5000 } });
  });

  it('asks for metadata when the range cannot be sent as one: several specs, huge starts, zero suffix', () => {
    for (const range of ['bytes=0-1,5-6', `bytes=${'9'.repeat(30)}-`, 'bytes=-0']) expect(get({ range }).intent.body).toEqual({ kind: 'none' });
  });

  it('never forwards an invalid Range (storage would answer it with the whole object anyway)', () => {
    for (const range of ['bytes=5-1', 'bytes=abc', 'items=0-1', 'bytes=0-1;x']) expect(get({ range }).intent.body).toEqual({ kind: 'whole' });
  });

  it('passes single validators and valid dates, skipping what RFC 9110 says to ignore', () => {
    expect(get({ 'if-match': '"a"', 'if-unmodified-since': NOV }).intent.conditions).toEqual({ ifMatch: '"a"' });
    expect(get({ 'if-unmodified-since': NOV }).intent.conditions).toEqual({ ifUnmodifiedSince: NOV_MS });
    expect(get({ 'if-none-match': 'W/"a"', 'if-modified-since': NOV }).intent.conditions).toEqual({ ifNoneMatch: '"a"' });
    expect(get({ 'if-modified-since': NOV }).intent.conditions).toEqual({ ifModifiedSince: NOV_MS });
    // Lists, *, weak If-Match and malformed values are left to the core.
    expect(get({ 'if-match': '"a", "b"' }).intent.conditions).toEqual({});
    expect(get({ 'if-match': '*' }).intent.conditions).toEqual({});
    expect(get({ 'if-match': 'W/"a"' }).intent.conditions).toEqual({});
    expect(get({ 'if-none-match': '*' }).intent.conditions).toEqual({});
    expect(get({ 'if-modified-since': 'yesterday' }).intent.conditions).toEqual({});
    expect(get({ 'if-match': 'garbage', 'if-unmodified-since': NOV }).intent.conditions).toEqual({ ifUnmodifiedSince: NOV_MS });
  });

  it('sends one class of condition: 412-class ones win, the core evaluates the rest', () => {
    expect(get({ 'if-match': '"a"', 'if-none-match': '"b"' }).intent.conditions).toEqual({ ifMatch: '"a"' });
    expect(get({ 'if-unmodified-since': NOV, 'if-modified-since': NOV }).intent.conditions).toEqual({ ifUnmodifiedSince: NOV_MS });
    expect(get({ range: 'bytes=0-1', 'if-range': '"v1"', 'if-none-match': '"b"' }).intent.conditions).toEqual({ ifMatch: '"v1"' });
  });

  it('never sends the 304 class when the request has a 412-class condition storage is not shown', () => {
    // Storage would answer 304 to If-None-Match alone where RFC 9110 has the If-Match list fail first.
    for (const ifMatch of ['"a", "b"', 'W/"a"', '*']) {
      expect(get({ 'if-match': ifMatch, 'if-none-match': '"c"' }).intent.conditions, ifMatch).toEqual({});
      expect(get({ 'if-match': ifMatch, 'if-modified-since': NOV }).intent.conditions, ifMatch).toEqual({});
    }
  });

  it("takes storage's 416 as the answer only for a request with no condition and no If-Range", () => {
    expect(get({ range: 'bytes=50-' }).unsatisfiableIsAnswer).toBe(true);
    expect(get({ range: 'bytes=50-', 'if-match': 'garbage' }).unsatisfiableIsAnswer).toBe(true);
    for (const headers of [
      { 'if-match': '"a", "b"' },
      { 'if-match': '"a"' },
      { 'if-unmodified-since': NOV },
      { 'if-none-match': '"a", "b"' },
      { 'if-none-match': '*' },
      { 'if-modified-since': NOV },
      { 'if-range': NOV },
      { 'if-range': '"v1"' },
    ]) {
      expect(get({ range: 'bytes=50-', ...headers }).unsatisfiableIsAnswer, JSON.stringify(headers)).toBe(false);
    }
  });

  it('turns an If-Range entity tag into If-Match when nothing else needs a 412', () => {
    expect(get({ range: 'bytes=0-1', 'if-range': '"v1"' })).toEqual({
      intent: { body: { kind: 'range', range: { kind: 'from', start: 0, end: 1 } }, conditions: { ifMatch: '"v1"' } },
      ifMatchFromIfRange: true,
      unsatisfiableIsAnswer: false,
    });
    expect(get({ range: 'bytes=0-1', 'if-range': '"v1"', 'if-match': '"v1"' }).ifMatchFromIfRange).toBe(false);
    expect(get({ range: 'bytes=0-1', 'if-range': '"v1"', 'if-unmodified-since': NOV }).ifMatchFromIfRange).toBe(false);
    expect(get({ range: 'bytes=0-1', 'if-range': '"v1"', 'if-match': '"a", "b"' }).intent.conditions).toEqual({});
  });

  it('asks for the whole object when If-Range can never hold', () => {
    for (const ifRange of ['W/"v1"', '"unterminated', 'not a date']) expect(get({ range: 'bytes=0-1', 'if-range': ifRange }).intent.body).toEqual({ kind: 'whole' });
    // A date may hold; the core compares it with Last-Modified once it has the metadata.
    expect(get({ range: 'bytes=0-1', 'if-range': NOV }).intent.body.kind).toBe('range');
  });
});
