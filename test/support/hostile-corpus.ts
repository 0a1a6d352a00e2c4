/**
 * Hostile input, kept as data so that the corpus can grow without new test code.
 * PATH_PAYLOADS follow `/api/stream/` on the request line, byte for byte as written here.
 */
export const PATH_PAYLOADS: readonly string[] = [
  // dot segments, plain and encoded
  '..', '.', '%2e%2e', '%2E%2E', '%2e', '.%2e', '%2e.', '..%2f', '..%2F', '%2e%2e%2f', '%2e%2e%2F', '..%5c', '%2e%2e%5c',
  // traversal towards files outside the root
  '../outside-secret.mp4', '..%2foutside-secret.mp4', '..%2Foutside-secret.mp4', '%2e%2e%2foutside-secret.mp4',
  '..%5coutside-secret.mp4', '..\\outside-secret.mp4', '%2f..%2foutside-secret.mp4', '..%2f..%2f..%2fetc%2fpasswd',
  '....//....//etc/passwd', '..;/outside-secret.mp4', '%2e%2e;%2foutside-secret.mp4', 'x%2f..%2f..%2foutside-secret.mp4',
  'sub%2fnested.mp4', 'sub/nested.mp4', 'sub%5cnested.mp4',
  // double and overlong encodings, invalid UTF-8 and escapes
  '%252e%252e%252foutside-secret.mp4', '..%252foutside-secret.mp4', '%25%32%65%25%32%65', '%c0%ae%c0%ae%c0%afoutside-secret.mp4',
  '%e0%80%ae%e0%80%ae%e0%80%afoutside-secret.mp4', '%c0%2e%c0%2e', '%c1%9c', '%f0%80%80%af', '%ed%a0%80.mp4', '%ff', '%fe%ff',
  '%zz', '%', '%2', '%g0', '%u002e%u002e', '%uff0e%uff0e%u2215',
  // NUL, CR/LF, other controls
  'x%00.mp4', '%00', 'x.mp4%00.jpg', '..%00', 'x%0d%0aSet-Cookie:%20a=b', '%0d%0aLocation:%20http://evil.example', '%09', '%7f.mp4', '%c2%85.mp4', '%c2%9f',
  // absolute paths, drive letters, UNC, URLs
  '%2fetc%2fpasswd', '%2f', 'C:%5cWindows%5cwin.ini', 'c:outside-secret.mp4', 'C:%2fWindows', 'c%3a%5cboot.ini', 'Z:',
  '%5c%5cserver%5cshare', '\\\\server\\share', 'file:%2f%2f%2fetc%2fpasswd', 'http:%2f%2fevil.example%2fx',
  // dotfiles and things that are never downloads
  '.hidden.mp4', '%2ehidden.mp4', '.env', '.git%2fconfig', '.htaccess', '.%00',
  // symlink out of the root (local backend)
  'link-out.mp4',
  // lengths: 256 bytes of name, 256 bytes once decoded, 1 KB, 10 KB
  `${'a'.repeat(252)}.mp4`, `${'%C3%B1'.repeat(128)}`, 'a'.repeat(1024), 'a'.repeat(10 * 1024),
  // characters that must arrive percent-encoded
  'a b.mp4', 'a\u0001b.mp4', 'ñ.mp4', 'a\tb', 'a"b.mp4', 'a<script>.mp4',
];

/** One abusive or malformed header set, and what RFC 9110 and the reference page say must happen. */
export interface HeaderCase {
  readonly label: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly method?: 'GET' | 'HEAD';
  /** Expected status; `etag` in a header value is replaced by the file's current ETag. */
  readonly status: 200 | 206 | 304 | 412 | 416 | 414 | 431;
  readonly contentRange?: string;
}

const many = (count: number, item: (i: number) => string) => Array.from({ length: count }, (_, i) => item(i)).join(',');

/**
 * For a file of `size` bytes, larger than one window of `window` bytes; `window` undefined for a
 * client that gets no windows (the whole range it asks for).
 */
export function headerCases(size: number, window: number | undefined): HeaderCase[] {
  const last = size - 1;
  const upTo = (start: number) => (window === undefined ? last : Math.min(start + window - 1, last));
  return [
    { label: 'first byte', headers: [['range', 'bytes=0-0']], status: 206, contentRange: `bytes 0-0/${size}` },
    { label: 'last byte', headers: [['range', 'bytes=-1']], status: 206, contentRange: `bytes ${last}-${last}/${size}` },
    { label: 'zero-length suffix', headers: [['range', 'bytes=-0']], status: 416, contentRange: `bytes */${size}` },
    { label: 'start at the end', headers: [['range', `bytes=${size}-`]], status: 416, contentRange: `bytes */${size}` },
    { label: 'empty set', headers: [['range', 'bytes=']], status: 200 },
    { label: 'letters', headers: [['range', 'bytes=abc']], status: 200 },
    { label: 'end before start', headers: [['range', 'bytes=5-1']], status: 200 },
    { label: 'lone dash', headers: [['range', 'bytes=-']], status: 200 },
    { label: 'three numbers', headers: [['range', 'bytes=1-2-3']], status: 200 },
    { label: 'negative start', headers: [['range', 'bytes=-1-2']], status: 200 },
    { label: 'hex', headers: [['range', 'bytes=0x10-0x20']], status: 200 },
    { label: 'exponent', headers: [['range', 'bytes=1e3-2e3']], status: 200 },
    { label: 'plus sign', headers: [['range', 'bytes=+1-2']], status: 200 },
    { label: 'space before =', headers: [['range', 'bytes =0-1']], status: 200 },
    { label: 'spaces inside', headers: [['range', 'bytes=0 - 1']], status: 200 },
    { label: 'spaces around elements', headers: [['range', 'bytes= 0-1 ']], status: 206, contentRange: `bytes 0-1/${size}` },
    { label: 'unit in capitals', headers: [['range', 'BYTES=0-1']], status: 206, contentRange: `bytes 0-1/${size}` },
    { label: 'other unit', headers: [['range', 'items=0-1']], status: 200 },
    { label: 'no unit', headers: [['range', '0-1']], status: 200 },
    { label: 'empty list elements', headers: [['range', 'bytes=,,0-1,,']], status: 206, contentRange: `bytes 0-1/${size}` },
    { label: 'parameters', headers: [['range', 'bytes=0-1;q=1']], status: 200 },
    { label: 'two range-specifiers joined', headers: [['range', 'bytes=0-1, bytes=2-3']], status: 200 },
    { label: 'duplicate Range headers', headers: [['range', 'bytes=0-1'], ['range', 'bytes=0-1']], status: 200 },
    { label: 'start past 2^64', headers: [['range', 'bytes=99999999999999999999999-']], status: 416, contentRange: `bytes */${size}` },
    { label: 'end past 2^64', headers: [['range', 'bytes=0-99999999999999999999999']], status: 206, contentRange: `bytes 0-${upTo(0)}/${size}` },
    { label: 'suffix past 2^64', headers: [['range', 'bytes=-99999999999999999999999']], status: 206, contentRange: `bytes 0-${upTo(0)}/${size}` },
    { label: '1000-digit start', headers: [['range', `bytes=${'9'.repeat(1000)}-`]], status: 416, contentRange: `bytes */${size}` },
    { label: '2000 identical ranges', headers: [['range', `bytes=${many(2000, () => '0-0')}`]], status: 206, contentRange: `bytes 0-0/${size}` },
    { label: '1000 open ranges', headers: [['range', `bytes=${many(1000, () => '0-')}`]], status: 206, contentRange: `bytes 0-${upTo(0)}/${size}` },
    { label: '800 overlapping ranges', headers: [['range', `bytes=${many(800, (i) => `${i}-${i + 10}`)}`]], status: 206, contentRange: `bytes 0-809/${size}` },
    { label: '1000 tiny ranges apart', headers: [['range', `bytes=${many(1000, (i) => `${i * 100}-${i * 100}`)}`]], status: 200 },
    { label: 'If-None-Match garbage', headers: [['if-none-match', 'abc']], status: 200 },
    { label: 'If-None-Match *', headers: [['if-none-match', '*']], status: 304 },
    { label: 'If-None-Match other tags', headers: [['if-none-match', 'W/"x", "y"']], status: 200 },
    { label: 'If-None-Match 1000 tags, one current', headers: [['if-none-match', `${many(999, (i) => `"t${i}"`)},etag`]], status: 304 },
    { label: 'If-None-Match current, with Range', headers: [['if-none-match', 'etag'], ['range', 'bytes=0-1']], status: 304 },
    { label: 'If-Match *', headers: [['if-match', '*']], status: 200 },
    { label: 'If-Match garbage', headers: [['if-match', 'garbage']], status: 200 },
    { label: 'If-Match other', headers: [['if-match', '"nope"']], status: 412 },
    { label: 'If-Match weak current', headers: [['if-match', 'W/etag']], status: 412 },
    { label: 'If-Modified-Since garbage', headers: [['if-modified-since', 'garbage']], status: 200 },
    { label: 'If-Modified-Since 1994', headers: [['if-modified-since', 'Sun, 06 Nov 1994 08:49:37 GMT']], status: 200 },
    { label: 'If-Modified-Since in 9999', headers: [['if-modified-since', 'Fri, 31 Dec 9999 23:59:59 GMT']], status: 304 },
    { label: 'If-Modified-Since 31 February', headers: [['if-modified-since', 'Sat, 31 Feb 2024 00:00:00 GMT']], status: 200 },
    { label: 'If-Modified-Since number', headers: [['if-modified-since', '1700000000']], status: 200 },
    { label: 'If-Unmodified-Since 1994', headers: [['if-unmodified-since', 'Sun, 06 Nov 1994 08:49:37 GMT']], status: 412 },
    { label: 'If-Unmodified-Since garbage', headers: [['if-unmodified-since', 'not a date']], status: 200 },
    { label: 'If-Range garbage', headers: [['range', 'bytes=0-1'], ['if-range', 'garbage']], status: 200 },
    { label: 'If-Range weak', headers: [['range', 'bytes=0-1'], ['if-range', 'W/etag']], status: 200 },
    { label: 'If-Range 1994', headers: [['range', 'bytes=0-1'], ['if-range', 'Sun, 06 Nov 1994 08:49:37 GMT']], status: 200 },
    { label: 'If-Range current', headers: [['range', 'bytes=0-1'], ['if-range', 'etag']], status: 206, contentRange: `bytes 0-1/${size}` },
    { label: 'HEAD with an open range', method: 'HEAD', headers: [['range', 'bytes=5-']], status: 206, contentRange: `bytes 5-${upTo(5)}/${size}` },
    { label: 'header of 20 KB', headers: [['x-filler', 'a'.repeat(20 * 1024)]], status: 431 },
    { label: 'Range of 10 KB (2,500 copies of one range)', headers: [['range', `bytes=${many(2500, () => '1-2')}`]], status: 206, contentRange: `bytes 1-2/${size}` },
    { label: 'Range of 20 KB', headers: [['range', `bytes=${many(5000, () => '1-2')}`]], status: 431 },
  ];
}
