import { describe, expect, it } from 'vitest';
import { parseRangeHeader, resolveRanges, windowSelected, type RangeSpec } from '../../core/range';

const windows = (header: string, size: number) => {
  const parsed = parseRangeHeader(header);
  if (parsed.kind === 'ignore') return 'ignore';
  const resolved = resolveRanges(parsed.specs, size);
  return resolved.kind === 'windows' ? resolved.windows.map((w) => `${w.start}-${w.end}`) : resolved.kind;
};

describe('parseRangeHeader', () => {
  it('reads the three forms of the reference page and RFC 9110', () => {
    expect(parseRangeHeader('bytes=0-1023')).toEqual({ kind: 'bytes', specs: [{ kind: 'int', first: 0, last: 1023 }] });
    expect(parseRangeHeader('bytes=1024-')).toEqual({ kind: 'bytes', specs: [{ kind: 'int', first: 1024, last: undefined }] });
    expect(parseRangeHeader('bytes=-500')).toEqual({ kind: 'bytes', specs: [{ kind: 'suffix', length: 500 }] });
  });

  it('accepts any case of the unit, OWS around elements and empty elements', () => {
    expect(parseRangeHeader('BYTES=0-1')).toEqual(parseRangeHeader('bytes=0-1'));
    const spaced = parseRangeHeader(' bytes=0-1 ,\t, 5-6,, ');
    expect(spaced).toEqual({
      kind: 'bytes',
      specs: [
        { kind: 'int', first: 0, last: 1 },
        { kind: 'int', first: 5, last: 6 },
      ],
    });
  });

  it.each([
    '',
    'bytes',
    'bytes=',
    'bytes=,',
    '=0-1',
    'items=0-1',
    'bytes =0-1',
    'bytes=0 - 1',
    'bytes=1-0',
    'bytes=-',
    'bytes=a-b',
    'bytes=0-1-2',
    'bytes=--1',
    'bytes=+1-2',
    'bytes=0x10-0x20',
    'bytes=1e3-2e3',
    'bytes=0-1;q=1',
    'bytes=0-1, bytes=5-6',
    'bytes=0-1,x',
    'bytes=99999999999999999999-99999999999999999998',
  ])('ignores %j (invalid, or not a byte range)', (header) => {
    expect(parseRangeHeader(header)).toEqual({ kind: 'ignore' });
  });
});

describe('resolving against a size', () => {
  it('clamps the end to size-1 and reads suffixes from the end', () => {
    expect(windows('bytes=0-1023', 100)).toEqual(['0-99']);
    expect(windows('bytes=10-', 100)).toEqual(['10-99']);
    expect(windows('bytes=-10', 100)).toEqual(['90-99']);
    expect(windows('bytes=99-99', 100)).toEqual(['99-99']);
  });

  it('gives the whole file for a suffix longer than the file (RFC 9110, not the reference regex)', () => {
    expect(windows('bytes=-500', 100)).toEqual(['0-99']);
  });

  it('handles numbers too large for a double', () => {
    expect(windows('bytes=0-99999999999999999999999999999999', 100)).toEqual(['0-99']);
    expect(windows(`bytes=0-${'9'.repeat(400)}`, 100)).toEqual(['0-99']);
    expect(windows(`bytes=-${'9'.repeat(400)}`, 100)).toEqual(['0-99']);
    expect(windows(`bytes=${'9'.repeat(400)}-`, 100)).toBe('unsatisfiable');
    expect(windows('bytes=9007199254740993-9007199254740993', 100)).toBe('unsatisfiable');
  });

  it('is unsatisfiable when no spec starts inside the file', () => {
    expect(windows('bytes=100-', 100)).toBe('unsatisfiable');
    expect(windows('bytes=100-200, 300-400', 100)).toBe('unsatisfiable');
    expect(windows('bytes=-0', 100)).toBe('unsatisfiable');
    expect(windows('bytes=0-', 0)).toBe('unsatisfiable');
  });

  it('drops unsatisfiable specs when others are satisfiable', () => {
    expect(windows('bytes=200-300, 0-9', 100)).toEqual(['0-9']);
  });

  it('answers a suffix on an empty file with the (empty) whole file', () => {
    expect(windows('bytes=-5', 0)).toBe('whole');
  });

  it('combines overlapping and adjacent ranges, keeping the order of first appearance', () => {
    expect(windows('bytes=0-9,10-19', 100)).toEqual(['0-19']);
    expect(windows('bytes=5-15,0-9', 100)).toEqual(['0-15']);
    expect(windows('bytes=50-59,0-9,5-20', 100)).toEqual(['50-59', '0-20']);
    expect(windows('bytes=0-9,11-19', 100)).toEqual(['0-9', '11-19']);
    expect(windows('bytes=-10,0-', 100)).toEqual(['0-99']);
  });

  it('collapses hundreds of tiny overlapping ranges into their union', () => {
    const many = Array.from({ length: 500 }, (_, i) => `${i}-${i + 1}`).join(',');
    expect(windows(`bytes=${many}`, 10_000)).toEqual(['0-500']);
  });

  it('windowSelected (what one spec selects) is undefined exactly for unsatisfiable specs', () => {
    const specs: RangeSpec[] = [
      { kind: 'int', first: 5, last: undefined },
      { kind: 'suffix', length: 0 },
      { kind: 'suffix', length: 1 },
    ];
    expect(specs.map((s) => windowSelected(s, 5))).toEqual([undefined, undefined, { start: 4, end: 4 }]);
  });
});
