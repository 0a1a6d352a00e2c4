/**
 * HTTP-date (RFC 9110 §5.6.7). Recipients must accept all three historical formats, and a
 * conditional header whose date does not parse must be ignored, so the parser is strict:
 * `Date.parse` would accept "1" or "2024" and turn garbage into a real precondition.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
// Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds since the epoch (a whole second), or undefined when `value` is not an HTTP-date. */
export function parseHttpDate(value: string): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return build(m[3], m[2], m[1], m[4], m[5], m[6]);
  m = RFC850.exec(value);
  if (m) return build(fullYear(Number(m[3])), m[2], m[1], m[4], m[5], m[6]);
  m = ASCTIME.exec(value);
  if (m) return build(m[6], m[1], m[2], m[3], m[4], m[5]);
  return undefined;
}

/** IMF-fixdate, the only format a sender may generate. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Whole seconds: HTTP-dates carry no fraction, so comparisons with file times must drop it. */
export function toHttpSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

// RFC 9110: a two-digit year that appears to be more than 50 years in the future is in the past century.
function fullYear(twoDigits: number): string {
  const now = new Date().getUTCFullYear();
  let year = Math.floor(now / 100) * 100 + twoDigits;
  if (year > now + 50) year -= 100;
  return String(year);
}

function build(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | undefined {
  const y = Number(year);
  const mo = MONTHS.indexOf(month ?? '');
  const d = Number(day?.trim());
  const h = Number(hour);
  const mi = Number(minute);
  // A leap second (60) is allowed by the grammar; it is folded into the next minute.
  const s = Number(second);
  if (mo < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d);
  // Reject 31 Feb and the like instead of letting Date roll them into March.
  if (date.getUTCDate() !== d) return undefined;
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}
