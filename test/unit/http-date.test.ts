import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatHttpDate, parseHttpDate, toHttpSeconds } from '../../core/http-date';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('parseHttpDate', () => {
  it('accepts the three formats RFC 9110 §5.6.7 requires recipients to accept', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(NOV_6_1994);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(NOV_6_1994);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(NOV_6_1994);
  });

  it.each([
    '',
    '1',
    '2024',
    'yesterday',
    '2024-01-02T03:04:05Z',
    'Sun, 06 Nov 1994 08:49:37',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'sun, 06 nov 1994 08:49:37 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
    ' Sun, 06 Nov 1994 08:49:37 GMT',
  ])('rejects %j', (value) => {
    expect(parseHttpDate(value)).toBeUndefined();
  });

  it('reads two-digit years more than 50 years ahead as the past century', () => {
    const thisYear = new Date().getUTCFullYear();
    const ahead = (thisYear + 60) % 100;
    const parsed = parseHttpDate(`Monday, 01-Jan-${String(ahead).padStart(2, '0')} 00:00:00 GMT`);
    expect(parsed).toBeDefined();
    expect(new Date(parsed ?? 0).getUTCFullYear()).toBe(thisYear + 60 - 100);
  });

  it('round-trips every whole second it formats', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), (ms) => {
        const whole = toHttpSeconds(ms);
        expect(parseHttpDate(formatHttpDate(ms))).toBe(whole);
      }),
    );
  });
});
