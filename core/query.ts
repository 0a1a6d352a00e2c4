/**
 * application/x-www-form-urlencoded parsing as URLSearchParams does it (WHATWG URL, "urlencoded
 * parser"), written out because the CloudFront Functions runtime has no URLSearchParams: the
 * function and the edge must read `expires`, `signature` and `download` identically. `+` is a
 * space, `%XX` a byte, and the bytes are UTF-8 with U+FFFD for what is not (TextDecoder, which
 * both runtimes have).
 */
export type QueryValues = (name: string) => string[];

export function queryValues(rawQuery: string): QueryValues {
  const pairs: Array<readonly [string, string]> = [];
  for (const sequence of rawQuery.split('&')) {
    if (sequence === '') continue;
    const eq = sequence.indexOf('=');
    const name = eq === -1 ? sequence : sequence.slice(0, eq);
    const value = eq === -1 ? '' : sequence.slice(eq + 1);
    pairs.push([decodeComponent(name), decodeComponent(value)]);
  }
  return (name) => pairs.filter(([key]) => key === name).map(([, value]) => value);
}

/** `?download=1` or `true` (the first `download` parameter, as URLSearchParams.get reads it). */
export function isDownload(rawQuery: string): boolean {
  if (rawQuery === '') return false;
  const [value] = queryValues(rawQuery)('download');
  return value === '1' || value === 'true';
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function decodeComponent(text: string): string {
  const plain = text.split('+').join(' ');
  if (!/[%\u0080-\uffff]/.test(plain)) return plain;
  const bytes: number[] = [];
  for (let i = 0; i < plain.length; i += 1) {
    const code = plain.codePointAt(i) ?? 0;
    if (code === 0x25 && HEX.test(plain.slice(i + 1, i + 3))) {
      bytes.push(parseInt(plain.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      // Already text: its own UTF-8 bytes, so that the whole component decodes once.
      if (code > 0xffff) i += 1;
      pushUtf8(bytes, code >= 0xd800 && code <= 0xdfff ? 0xfffd : code);
    }
  }
  // "UTF-8 decode without BOM": a leading BOM is kept, as URLSearchParams keeps it.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(bytes));
}

/** A lone surrogate is written as U+FFFD, as URLSearchParams's UTF-8 encoding does. */
function pushUtf8(bytes: number[], code: number): void {
  if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
  else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
}
