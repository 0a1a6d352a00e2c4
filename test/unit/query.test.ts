import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { queryValues } from '../../core/query';
import { utf8Length } from '../../core/utf8';

// Pieces that stress the urlencoded parser: escapes good and bad, '+', separators, UTF-8 of every
// length, invalid UTF-8, a BOM, and a lone surrogate.
const PIECES = ['%', '%2', '%zz', '%41', '%2B', '+', '=', '&', '&&', 'expires', 'signature', 'download', 'a', '1', '%C3%B1', 'ñ', '🎬', '%F0%9F%8E%AC', '%C0%AE', '%FF', '%ED%A0%80', '%EF%BB%BF', '\ud800', '%25', ' '];
const raw = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 16 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/**
 * URLSearchParams as WHATWG specifies it. Node's own writes a raw non-ASCII character of a
 * component that also has %-escapes as one truncated byte ("%41🎬" is not "A🎬" there), so raw
 * text goes in as its UTF-8 escapes, which the standard says is the same input.
 */
function reference(query: string): URLSearchParams {
  const escaped = query.replace(/[\u0080-\uffff]+/g, (run) => [...Buffer.from(run, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
  return new URLSearchParams(escaped);
}

describe('queryValues', () => {
  it('reads every name exactly as the WHATWG urlencoded parser (URLSearchParams.getAll) does', () => {
    fc.assert(
      fc.property(raw, fc.constantFrom('expires', 'signature', 'download', 'a', ' ', '\ufeffa', 'ñ'), (query, name) => {
        const expected = reference(query);
        expect(queryValues(query)(name)).toEqual(expected.getAll(name));
        // Whatever names the query holds, decoded: each must be read back the same way.
        for (const key of new Set(expected.keys())) expect(queryValues(query)(key)).toEqual(expected.getAll(key));
        // Node's own parser agrees wherever it follows the standard: on ASCII queries.
        if (/^[\x00-\x7f]*$/.test(query)) expect(queryValues(query)(name)).toEqual(new URLSearchParams(query).getAll(name));
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('utf8Length', () => {
  it('counts what Buffer.byteLength counts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(utf8Length(text)).toBe(Buffer.byteLength(text));
      }),
      { numRuns: 3_000 },
    );
  });
});
