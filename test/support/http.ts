import { Readable } from 'node:stream';

/** All of a response body (Buffer, stream or nothing) as one Buffer. */
export async function collect(body: Readable | Buffer | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface Part {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A strict reader of multipart/byteranges (RFC 9110 §14.6 with RFC 2046 framing). */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at !== 0) throw new Error('multipart body must start with the delimiter');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 4).toString('latin1') === '--\r\n') {
      if (at + 4 !== body.length) throw new Error('bytes after the closing delimiter');
      return parts;
    }
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new Error('delimiter not followed by CRLF');
    at += 2;
    const headEnd = body.indexOf('\r\n\r\n', at);
    if (headEnd < 0) throw new Error('part without header end');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(at, headEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const start = headEnd + 4;
    const range = /^bytes (\d+)-(\d+)\/\d+$/.exec(headers['content-range'] ?? '');
    if (!range) throw new Error('part without Content-Range');
    const length = Number(range[2]) - Number(range[1]) + 1;
    parts.push({ headers, body: body.subarray(start, start + length) });
    at = start + length;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new Error('part body longer than its Content-Range');
    at += 2;
    if (!body.subarray(at, at + delimiter.length).equals(delimiter)) throw new Error('missing delimiter after part');
  }
}

/** The length of the byte range a Content-Range (`bytes a-b/size`) names; 0 for anything else. */
export function contentRangeLength(contentRange: string | undefined): number {
  const sent = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  return sent === null ? 0 : Number(sent[2]) - Number(sent[1]) + 1;
}
