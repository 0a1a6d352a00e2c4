/**
 * Bytes of `text` in UTF-8, without Buffer, and with String methods the CloudFront Functions
 * runtime documents (codePointAt, not charCodeAt): the edge (edge/) runs the core's rules too.
 * A code point past U+FFFF takes 4 bytes and two UTF-16 units. A lone surrogate counts 3, as
 * Buffer.byteLength counts the U+FFFD it would be written as.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.codePointAt(i) ?? 0;
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code < 0x10000) bytes += 3;
    else {
      bytes += 4;
      i += 1;
    }
  }
  return bytes;
}
