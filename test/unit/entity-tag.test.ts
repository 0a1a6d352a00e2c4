import { describe, expect, it } from 'vitest';
import { parseEntityTag, parseEntityTagList, strongMatch, weakMatch } from '../../core/entity-tag';

describe('entity tags', () => {
  it('parses strong and weak tags, keeping the quotes', () => {
    expect(parseEntityTag('"abc"')).toEqual({ weak: false, opaque: '"abc"' });
    expect(parseEntityTag('W/"abc"')).toEqual({ weak: true, opaque: '"abc"' });
    expect(parseEntityTag('""')).toEqual({ weak: false, opaque: '""' });
  });

  it.each(['abc', '"abc', 'abc"', 'w/"abc"', 'W/ "abc"', '"a"b"', '"a b"', '"a\u0001"', '"a"x'])('rejects %j', (v) => {
    expect(parseEntityTag(v)).toBeUndefined();
  });

  it('parses lists with OWS and empty elements, and commas inside tags', () => {
    expect(parseEntityTagList('*')).toBe('*');
    expect(parseEntityTagList(' "a" ,W/"b",, "c,d"')).toEqual([
      { weak: false, opaque: '"a"' },
      { weak: true, opaque: '"b"' },
      { weak: false, opaque: '"c,d"' },
    ]);
  });

  it.each(['', ' , ', '"a" "b"', '"a", b', '*, "a"', '"a",*', 'W/'])('treats %j as malformed', (v) => {
    expect(parseEntityTagList(v)).toBeUndefined();
  });

  it('compares as RFC 9110 §8.8.3.2 tabulates', () => {
    const w1 = { weak: true, opaque: '"1"' };
    const w2 = { weak: true, opaque: '"2"' };
    const s1 = { weak: false, opaque: '"1"' };
    expect([strongMatch(w1, w1), weakMatch(w1, w1)]).toEqual([false, true]);
    expect([strongMatch(w1, w2), weakMatch(w1, w2)]).toEqual([false, false]);
    expect([strongMatch(w1, s1), weakMatch(w1, s1)]).toEqual([false, true]);
    expect([strongMatch(s1, s1), weakMatch(s1, s1)]).toEqual([true, true]);
  });
});
