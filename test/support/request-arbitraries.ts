import fc from 'fast-check';
import { signature } from '../../core/signing';
import { PATH_PAYLOADS } from './hostile-corpus';
import { USER_AGENTS } from '../../support/user-agents';

/** A request as the generators make it: the path and query as received, header names in lower case. */
export interface RandomRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Record<string, string>;
}

/** An answer as the fuzz tests compare it. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * Random requests for the fuzz tests (test/unit/request-path.fuzz.test.ts, the edge's equivalence
 * test): methods, mutated and hostile names, Range headers, validators, origins, query strings.
 * NAMES are the servable files (stored names), ORIGIN the one CORS origin allowed.
 */
export function requestArbitraries(NAMES: readonly string[], ORIGIN: string) {
  const TOKENS = ['%', '%2', '%2e', '%2E', '%2f', '%2F', '%5c', '%00', '%c0', '%ae', '%af', '%ff', '%25', '%zz', '.', '..', '/', '\\', ':', ';', '?', '#', '~', 'a', 'Z', '0', '_', '__', ' ', '\t', 'ñ', '🎬', '%C3%B1', '%F0%9F%8E%AC', 'mp4', '.mp4'];
  const tokens = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((parts) => parts.join(''));

  /** A servable name with something random spliced into it (most of them then name nothing). */
  const mutatedName = fc.tuple(fc.constantFrom(...NAMES), fc.nat(), tokens).map(([name, at, insert]) => {
    const encoded = encodeURIComponent(name);
    const cut = at % (encoded.length + 1);
    return encoded.slice(0, cut) + insert + encoded.slice(cut);
  });

  const nameSegment = fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...NAMES).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.constantFrom('Canción ñ__2.webm', 'a b__3.mkv') },
    { weight: 4, arbitrary: fc.constantFrom(...PATH_PAYLOADS) },
    { weight: 3, arbitrary: tokens },
    { weight: 3, arbitrary: mutatedName },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 12_000 }).map((n) => 'a'.repeat(n)) },
  );

  const path = fc.oneof(
    { weight: 12, arbitrary: nameSegment.map((name) => `/api/stream/${name}`) },
    { weight: 1, arbitrary: nameSegment.map((name) => `/api/stream//${name}`) },
    { weight: 1, arbitrary: nameSegment.map((name) => `/api/stream/${name}/x`) },
    { weight: 1, arbitrary: fc.tuple(tokens, nameSegment).map(([prefix, name]) => `/${prefix}/${name}`) },
    { weight: 1, arbitrary: fc.constantFrom('/', '', '/api/stream', '/api/stream/', '/API/STREAM/clip__1.mp4', '/api/stream/%2e%2e/clip__1.mp4') },
  );

  const number = fc.oneof(
    { weight: 6, arbitrary: fc.nat(14_000).map(String) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('', '-1', '1e3', '0x10', ' 5', '5 ', '+5', '00012', '1.5', '9007199254740993', '１２') },
  );
  const rangeSpec = fc.oneof(
    fc.tuple(number, number).map(([a, b]) => `${a}-${b}`),
    number.map((a) => `${a}-`),
    number.map((n) => `-${n}`),
    fc.constantFrom('-', '', ' ', '--1', '1--2', '0-0-0'),
  );
  const rangeHeader = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom('bytes=', 'bytes=', 'bytes=', 'Bytes=', 'bytes =', 'items=', 'bytes= ', ''), fc.oneof({ weight: 3, arbitrary: rangeSpec.map((spec) => [spec]) }, { weight: 2, arbitrary: fc.array(rangeSpec, { minLength: 2, maxLength: 8 }) }), fc.constantFrom(',', ', ', ' ,', ',,')).map(([unit, specs, sep]) => unit + specs.join(sep)) },
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 3_000 }).map((n) => `bytes=${Array.from({ length: n }, (_, i) => `${i}-${i}`).join(',')}`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  );

  const httpDate = fc.oneof(
    fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toUTCString()),
    fc.constantFrom('Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', 'yesterday', '', '0', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT'),
    fc.string({ maxLength: 40 }),
  );

  function headersArbitrary(etags: readonly string[]) {
    const etag = fc.oneof(
      fc.constantFrom(...etags),
      fc.constantFrom(...etags).map((e) => `W/${e}`),
      fc.constantFrom('*', '"x"', '""', 'x', '"unterminated', 'W/"x"', '"a", "b"'),
      fc.array(fc.constantFrom(...etags, '"x"', 'W/"y"'), { minLength: 2, maxLength: 4 }).map((list) => list.join(', ')),
      fc.string({ maxLength: 40 }),
    );
    // Each header present with the odds a player's requests have: Range mostly, validators now and then.
    const sometimes = <T>(odds: number, arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary }, { weight: odds - 1, arbitrary: fc.constant(undefined) });
    return fc
      .record({
        range: fc.oneof({ weight: 3, arbitrary: rangeHeader }, { weight: 1, arbitrary: fc.constant(undefined) }),
        'if-range': sometimes(5, fc.oneof(etag, httpDate)),
        'if-none-match': sometimes(8, etag),
        'if-match': sometimes(8, etag),
        'if-modified-since': sometimes(8, httpDate),
        'if-unmodified-since': sometimes(8, httpDate),
        origin: sometimes(3, fc.oneof(fc.constant(ORIGIN), fc.constantFrom('https://evil.example', 'null', ''), fc.string({ maxLength: 20 }))),
        'access-control-request-method': sometimes(4, fc.constantFrom('GET', 'HEAD', 'DELETE', '')),
        'sec-fetch-dest': sometimes(2, fc.oneof(fc.constantFrom('video', 'audio', 'VIDEO', ' video', 'empty', 'document', 'track', ''), fc.string({ maxLength: 12 }))),
        'user-agent': sometimes(2, fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.values(USER_AGENTS)) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) })),
        'x-random': sometimes(4, fc.string({ maxLength: 40 })),
      })
      .map((headers) => Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined)));
  }

  const query = fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: fc.constantFrom('download=1', 'download=0', 'download', 'download=1&download=1', 'a=b&download=1', '%zz=1', '=&&=') },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }).map((s) => encodeURIComponent(s).replace(/%3D/g, '=').replace(/%26/g, '&')) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 5_000 }).map((n) => `x=${'y'.repeat(n)}`) },
  );

  const method = fc.oneof(
    { weight: 14, arbitrary: fc.constant('GET') },
    { weight: 3, arbitrary: fc.constantFrom('HEAD', 'get', 'head') },
    { weight: 3, arbitrary: fc.constantFrom('OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', '') },
  );

  return { path, query, method, headersArbitrary };
}

export const TAMPERS = ['none', 'none', 'none', 'expired', 'flip', 'other-name', 'later', 'drop-expires', 'drop-signature', 'twice', 'lowercase', 'padded'] as const;
export type Tamper = (typeof TAMPERS)[number];

/**
 * A signed link's query string for `name`, made with `secret` to last `ttl` seconds from `now`,
 * then tampered with as `how` says (`none`: untouched). `at` picks a character or another name.
 */
export function tamperedQuery(secret: string, names: readonly string[], name: string, now: number, ttl: number, how: Tamper, at: number): string {
  let expires = how === 'expired' ? now - ttl : now + ttl;
  let sig = signature(secret, how === 'other-name' ? names[at % names.length] + 'x' : name, expires);
  if (how === 'flip') sig = sig.slice(0, at % 43) + (sig[at % 43] === 'A' ? 'B' : 'A') + sig.slice((at % 43) + 1);
  if (how === 'later') expires += 1;
  if (how === 'lowercase') sig = sig.toLowerCase() === sig ? `${sig.slice(0, 42)}Q` : sig.toLowerCase();
  if (how === 'padded') sig = `${sig}=`;
  let q = `expires=${expires}&signature=${sig}`;
  if (how === 'drop-expires') q = `signature=${sig}`;
  if (how === 'drop-signature') q = `expires=${expires}`;
  if (how === 'twice') q = `${q}&${q}`;
  return q;
}
