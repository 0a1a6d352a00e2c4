import { describe, expect, it } from 'vitest';
import { planResponse, type Delivery, type PlanOptions, type Representation } from '../../core/plan';
import { formatHttpDate } from '../../core/http-date';
import { parseRequest } from '../../core/parsed-request';
import type { WindowPolicy } from '../../core/window-policy';

/** The plan's options, and the window settings the parse reads (every client gets windows unless said). */
type Options = PlanOptions & { readonly maxRangeBytes: number; readonly policy?: WindowPolicy };
/** The delivery, and whether the query said ?download=1. */
type Asked = Delivery & { readonly download?: boolean };

const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5);
const rep: Representation = { size: 1000, etag: '"abc"', lastModified: MTIME + 250, contentType: 'video/mp4' };
const options: Options = { maxParts: 16, boundary: () => 'B', maxRangeBytes: 1_000_000, maxResponseBytes: 1_000_000 };
const stream: Asked = { name: 'Mi vídeo__1234.mp4', canOffload: false };
const plan = (method: 'GET' | 'HEAD', headers: Record<string, string>, r: Representation, o: Options, d: Asked) =>
  planResponse(parseRequest(method, headers, d.download ? 'download=1' : '', { policy: o.policy ?? 'all', maxRangeBytes: o.maxRangeBytes }), r, o, d);
const get = (headers: Record<string, string> = {}, r: Representation = rep, o: Options = options, d: Asked = stream) => plan('GET', headers, r, o, d);
const LAST_MODIFIED = formatHttpDate(MTIME);

describe('planResponse', () => {
  it('200: the whole file with type, length, validators and Accept-Ranges', () => {
    const plan = get();
    expect(plan.status).toBe(200);
    expect(plan.headers).toEqual({
      'content-type': 'video/mp4',
      'content-length': '1000',
      'accept-ranges': 'bytes',
      etag: '"abc"',
      'last-modified': LAST_MODIFIED,
      'x-content-type-options': 'nosniff',
    });
    expect(plan.body).toEqual({ kind: 'file', window: { start: 0, end: 999 } });
  });

  it('206: the reference page examples', () => {
    const plan = get({ range: 'bytes=0-99' });
    expect(plan.status).toBe(206);
    expect(plan.headers['content-range']).toBe('bytes 0-99/1000');
    expect(plan.headers['content-length']).toBe('100');
    expect(plan.headers['accept-ranges']).toBe('bytes');
    expect(plan.headers.etag).toBe('"abc"');
    expect(plan.headers['last-modified']).toBe(LAST_MODIFIED);
    expect(plan.body).toEqual({ kind: 'file', window: { start: 0, end: 99 } });
    expect(get({ range: 'bytes=900-' }).headers['content-range']).toBe('bytes 900-999/1000');
    expect(get({ range: 'bytes=-1' }).headers['content-range']).toBe('bytes 999-999/1000');
  });

  it('206 for bytes=0- too (Chrome asks this way), and bytes=0-1 for Safari probes', () => {
    expect(get({ range: 'bytes=0-' }).headers['content-range']).toBe('bytes 0-999/1000');
    const probe = get({ range: 'bytes=0-1' });
    expect([probe.status, probe.headers['content-range'], probe.headers['content-length']]).toEqual([206, 'bytes 0-1/1000', '2']);
  });

  it('416 with Content-Range: bytes */size and a JSON detail', () => {
    const plan = get({ range: 'bytes=1000-' });
    expect(plan.status).toBe(416);
    expect(plan.headers['content-range']).toBe('bytes */1000');
    expect(plan.headers['content-type']).toBe('application/json');
    expect(plan.body).toEqual({ kind: 'json', text: '{"detail":"Rango no satisfacible"}' });
    expect(plan.headers['content-length']).toBe(String(Buffer.byteLength('{"detail":"Rango no satisfacible"}')));
  });

  it('ignores an unparseable Range or another unit: 200 with the whole file', () => {
    for (const range of ['bytes=abc', 'items=0-1', 'bytes=5-1', 'bytes 0-1']) expect(get({ range }).status).toBe(200);
  });

  it('empty file: 200 with no body window; a range on it is 416, a suffix is the empty whole', () => {
    const empty = { ...rep, size: 0 };
    expect(get({}, empty)).toMatchObject({ status: 200, body: { kind: 'file', window: undefined } });
    expect(get({}, empty).headers['content-length']).toBe('0');
    expect(get({ range: 'bytes=0-' }, empty).status).toBe(416);
    expect(get({ range: 'bytes=-10' }, empty).status).toBe(200);
  });

  it('multipart/byteranges for ranges that stay apart, with an exact Content-Length', () => {
    const plan = get({ range: 'bytes=500-509,0-9' });
    expect(plan.status).toBe(206);
    expect(plan.headers['content-type']).toBe('multipart/byteranges; boundary=B');
    expect(plan.headers['content-range']).toBeUndefined();
    if (plan.body.kind !== 'multipart') throw new Error('expected multipart');
    const heads = plan.body.parts.map((p) => p.head);
    expect(heads).toEqual([
      '--B\r\ncontent-type: video/mp4\r\ncontent-range: bytes 500-509/1000\r\n\r\n',
      '\r\n--B\r\ncontent-type: video/mp4\r\ncontent-range: bytes 0-9/1000\r\n\r\n',
    ]);
    expect(plan.body.closing).toBe('\r\n--B--\r\n');
    const length = heads.join('').length + 20 + plan.body.closing.length;
    expect(plan.headers['content-length']).toBe(String(length));
  });

  it('answers with the whole file when parts would exceed the limit or cost more than the file', () => {
    const seventeen = Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10}`).join(',');
    expect(get({ range: `bytes=${seventeen}` }).status).toBe(200);
    const sixteen = Array.from({ length: 16 }, (_, i) => `${i * 10}-${i * 10}`).join(',');
    expect(get({ range: `bytes=${sixteen}` }, { ...rep, size: 100_000 }).status).toBe(206);
    expect(get({ range: 'bytes=0-600,700-' }).status).toBe(200);
  });

  it('HEAD: the same status and headers as GET, no body', () => {
    for (const headers of [{}, { range: 'bytes=0-1' }, { range: 'bytes=5000-' }, { 'if-none-match': '"abc"' }, { range: 'bytes=0-1,5-6' }]) {
      const head = plan('HEAD', headers, rep, options, stream);
      const full = get(headers);
      expect(head.status).toBe(full.status);
      expect(head.headers).toEqual(full.headers);
      expect(head.body).toEqual({ kind: 'none' });
    }
  });

  it('304 carries the validators and no body', () => {
    const plan = get({ 'if-none-match': '"abc"' });
    expect(plan).toEqual({ status: 304, headers: { etag: '"abc"', 'last-modified': LAST_MODIFIED }, body: { kind: 'none' } });
    expect(get({ 'if-modified-since': LAST_MODIFIED }).status).toBe(304);
  });

  it('412 with a JSON detail', () => {
    const plan = get({ 'if-match': '"other"' });
    expect(plan.status).toBe(412);
    expect(plan.body).toEqual({ kind: 'json', text: '{"detail":"Precondición no cumplida"}' });
    expect(get({ 'if-unmodified-since': formatHttpDate(MTIME - 1000) }).status).toBe(412);
  });

  it('preconditions come before Range: 412, then 304, then 206', () => {
    expect(get({ 'if-match': '"other"', 'if-none-match': '"abc"', range: 'bytes=0-1' }).status).toBe(412);
    expect(get({ 'if-none-match': '"abc"', range: 'bytes=0-1' }).status).toBe(304);
    expect(get({ 'if-none-match': '"other"', range: 'bytes=0-1' }).status).toBe(206);
    expect(get({ 'if-none-match': '"abc"', range: 'bytes=5000-' }).status).toBe(304);
  });

  it('If-Range: a current validator keeps the range, a stale or malformed one gives the whole file', () => {
    expect(get({ range: 'bytes=0-1', 'if-range': '"abc"' }).status).toBe(206);
    expect(get({ range: 'bytes=0-1', 'if-range': LAST_MODIFIED }).status).toBe(206);
    expect(get({ range: 'bytes=0-1', 'if-range': '"old"' }).status).toBe(200);
    expect(get({ range: 'bytes=0-1', 'if-range': 'W/"abc"' }).status).toBe(200);
    expect(get({ range: 'bytes=0-1', 'if-range': formatHttpDate(MTIME - 1000) }).status).toBe(200);
    expect(get({ range: 'bytes=0-1', 'if-range': 'garbage' }).status).toBe(200);
    // A stale If-Range also turns an unsatisfiable range into the whole file, not a 416.
    expect(get({ range: 'bytes=5000-', 'if-range': '"old"' }).status).toBe(200);
    // Without Range, If-Range is ignored.
    expect(get({ 'if-range': '"old"' }).status).toBe(200);
  });
});

describe('windows and limits (Lambda delivery)', () => {
  const big: Representation = { ...rep, size: 10_000 };
  const capped: Options = { ...options, maxRangeBytes: 256, maxResponseBytes: 5_000 };
  const download: Asked = { ...stream, download: true };

  it('shortens a player\u2019s open or long range to the window, saying so in Content-Range', () => {
    const open = get({ range: 'bytes=1000-' }, big, capped);
    expect([open.status, open.headers['content-range'], open.headers['content-length']]).toEqual([206, 'bytes 1000-1255/10000', '256']);
    expect(open.body).toEqual({ kind: 'file', window: { start: 1000, end: 1255 } });
    expect(get({ range: 'bytes=0-9999' }, big, capped).headers['content-range']).toBe('bytes 0-255/10000');
    expect(get({ range: 'bytes=-5000' }, big, capped).headers['content-range']).toBe('bytes 5000-5255/10000');
    expect(get({ range: 'bytes=0-1' }, big, capped).headers['content-range']).toBe('bytes 0-1/10000');
    expect(get({ range: 'bytes=9900-' }, big, capped).headers['content-range']).toBe('bytes 9900-9999/10000');
  });

  it('answers a player\u2019s multi-range request beyond one window with its first range alone', () => {
    const plan = get({ range: 'bytes=5000-5999,0-99' }, big, capped);
    expect([plan.status, plan.headers['content-range'], plan.headers['content-type']]).toEqual([206, 'bytes 5000-5255/10000', 'video/mp4']);
    expect(get({ range: 'bytes=5000-5009,0-9' }, big, capped).headers['content-type']).toBe('multipart/byteranges; boundary=B');
  });

  it('never shortens a download, and marks it as an attachment with the title as file name', () => {
    const plan = get({ range: 'bytes=1000-' }, big, { ...capped, maxResponseBytes: 1_000_000 }, download);
    expect(plan.headers['content-range']).toBe('bytes 1000-9999/10000');
    expect(plan.headers['content-disposition']).toBe("attachment; filename=\"Mi video.mp4\"; filename*=UTF-8''Mi%20v%C3%ADdeo.mp4");
    expect(get({}, big, { ...capped, maxResponseBytes: 1_000_000 }, download).headers['content-disposition']).toMatch(/^attachment;/);
    expect(get({}, big, capped).headers['content-disposition']).toBeUndefined();
  });

  it('too large for one response: 307 to storage when it can presign, 413 otherwise', () => {
    const refused = get({}, big, capped);
    expect(refused.status).toBe(413);
    expect(refused.headers['accept-ranges']).toBe('bytes');
    expect(JSON.parse(refused.body.kind === 'json' ? refused.body.text : '{}').detail).toMatch(/Range/);
    const offloaded = get({}, big, capped, { ...download, canOffload: true });
    expect(offloaded).toEqual({
      status: 307,
      headers: { 'cache-control': 'no-store' },
      body: { kind: 'offload', method: 'GET', disposition: "attachment; filename=\"Mi video.mp4\"; filename*=UTF-8''Mi%20v%C3%ADdeo.mp4" },
    });
    expect(get({ range: 'bytes=0-' }, big, capped, { ...download, canOffload: true }).status).toBe(307);
    expect(get({ range: 'bytes=0-' }, big, capped, { ...stream, canOffload: true }).status).toBe(206);
    const head = plan('HEAD', {}, big, capped, { ...stream, canOffload: true });
    expect(head.body).toEqual({ kind: 'offload', method: 'HEAD', disposition: undefined });
  });

  it('within the limit a whole file streams as usual', () => {
    expect(get({}, { ...big, size: 5_000 }, capped).status).toBe(200);
  });
});
