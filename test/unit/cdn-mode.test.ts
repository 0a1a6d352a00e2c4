import { describe, expect, it } from 'vitest';
import { accessWarnings, serveOptionsFromEnv } from '../../handlers/config';
import { DIRECT_HEADER, encodeDirect } from '../../core/cdn';
import { serveStream, type ServeOptions } from '../../core/serve';
import { signedQuery } from '../../core/signing';
import { memoryStorage } from '../support/memory-storage';
import { collect } from '../support/http';
import { USER_AGENTS } from '../../support/user-agents';

const SECRET = 'cdn-secret-0123456789-abcdefghijklmnop';
const NAME = 'Clip__a1b2.mp4';
const DATA = Buffer.alloc(10_000, 7);

function cdnOptions(env: Record<string, string>): ServeOptions {
  return { ...serveOptionsFromEnv({ CDN_MODE: 'true', MAX_RANGE_BYTES: '1000', ...env }).streaming, logError: () => undefined };
}

function get(options: ServeOptions, headers: Record<string, string> = {}, rawQuery = '', name = NAME, method = 'GET') {
  return serveStream({ method, rawPath: `/api/stream/${encodeURIComponent(name)}`, rawQuery, headers }, memoryStorage({ [NAME]: DATA }).storage, options);
}

describe('CDN_MODE=true: the function behind CloudFront', () => {
  it('drops the signature check whatever SIGNING_SECRET says, and keeps RANGE_WINDOWS for the requests sent directly', () => {
    const options = cdnOptions({ RANGE_WINDOWS: 'all', SIGNING_SECRET: SECRET });
    expect([options.rangeWindows, options.signingSecret, options.cdn]).toEqual(['all', undefined, { maxAge: 31_536_000, errorMaxAge: 60, signed: true }]);
    expect(cdnOptions({ CDN_MAX_AGE: '600', CDN_ERROR_MAX_AGE: '5' }).cdn).toEqual({ maxAge: 600, errorMaxAge: 5, signed: false });
    expect(serveOptionsFromEnv({ CDN_MODE: 'false', RANGE_WINDOWS: 'all' }).streaming).toMatchObject({ rangeWindows: 'all', cdn: undefined });
    expect(() => serveOptionsFromEnv({ CDN_MODE: 'yes' })).toThrow('CDN_MODE');
    expect(() => serveOptionsFromEnv({ CDN_MODE: 'true', CDN_MAX_AGE: '0' })).toThrow('CDN_MAX_AGE');
  });

  it('says at cold start that the edge checks the links, and whether there are any', () => {
    const plain = serveOptionsFromEnv({}).streaming;
    expect(accessWarnings(plain)).toEqual(['SIGNING_SECRET is not set: every file is served to anyone who knows its name']);
    expect(accessWarnings(serveOptionsFromEnv({ SIGNING_SECRET: SECRET }).streaming)).toEqual([]);
    const signed = accessWarnings(cdnOptions({ SIGNING_SECRET: SECRET }));
    expect(signed).toHaveLength(1);
    expect(signed[0]).toMatch(/^CDN_MODE: this function checks no signed link; .* AWS_IAM/);
    const open = accessWarnings(cdnOptions({ RANGE_WINDOWS: 'proven' }));
    expect(open.slice(1)).toEqual(['SIGNING_SECRET is not set: every file is served through the distribution to anyone who knows its name']);
  });

  it('serves an unsigned request when links are signed (the edge checked it), privately', async () => {
    const res = await get(cdnOptions({ SIGNING_SECRET: SECRET }));
    expect(res.status).toBe(200);
    expect((await collect(res.body)).equals(DATA)).toBe(true);
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.headers['x-stream-origin']).toBe('fn');
    // The same request without CDN mode is refused: the check moved, it did not disappear.
    const plain = await get({ ...serveOptionsFromEnv({ SIGNING_SECRET: SECRET }).streaming, logError: () => undefined });
    expect(plain.status).toBe(403);
    expect((await get(cdnOptions({ SIGNING_SECRET: SECRET }), {}, signedQuery(NAME, SECRET, 60))).status).toBe(200);
  });

  it('gives a player the whole rest of the file on what CloudFront may keep: no window, no Vary by client', async () => {
    const res = await get(cdnOptions({}), { range: 'bytes=100-', 'sec-fetch-dest': 'video', 'user-agent': USER_AGENTS.chrome });
    expect([res.status, res.headers['content-range'], res.headers.vary]).toEqual([206, `bytes 100-9999/${DATA.length}`, undefined]);
    expect((await collect(res.body)).length).toBe(DATA.length - 100);
  });

  it('gives a player windows on requests the edge sent directly, which no cache keeps (Chromium seeks with If-Range)', async () => {
    const player = { 'sec-fetch-dest': 'video', 'user-agent': USER_AGENTS.chrome };
    const direct = { [DIRECT_HEADER]: encodeDirect((name) => ({ range: 'bytes=100-', 'if-range': '"mem-10000"' })[name]) };
    const windowed = await get(cdnOptions({}), { ...player, ...direct });
    expect([windowed.status, windowed.headers['content-range'], windowed.headers['cache-control']]).toEqual([206, `bytes 100-1099/${DATA.length}`, 'no-store']);
    expect((await collect(windowed.body)).length).toBe(1000);
    // Any other client sent directly gets the whole range, as without the CDN.
    const other = await get(cdnOptions({}), { 'user-agent': USER_AGENTS.curl, ...direct });
    expect([other.status, other.headers['content-range']]).toEqual([206, `bytes 100-9999/${DATA.length}`]);
    await collect(other.body);
    // RANGE_WINDOWS=off holds there too.
    const off = await get(cdnOptions({ RANGE_WINDOWS: 'off' }), { ...player, ...direct });
    expect(off.headers['content-range']).toBe(`bytes 100-9999/${DATA.length}`);
    await collect(off.body);
  });

  it('gives every answer the Cache-Control of core/cdn.ts', async () => {
    const options = cdnOptions({});
    const long = 'public, max-age=31536000, immutable';
    const cases: Array<[Promise<{ status: number; headers: Record<string, string> }>, number, string]> = [
      [get(options), 200, long],
      [get(options, { range: 'bytes=0-9' }), 206, long],
      [get(options, { 'if-none-match': '"mem-10000"' }), 304, long],
      [get(options, {}, '', 'Missing__0.mp4'), 404, 'max-age=60'],
      // Never stored: the cache key has no Range, so a stored 416 would answer every range.
      [get(options, { range: 'bytes=20000-' }), 416, 'no-store'],
      [get(options, { 'if-match': '"other"' }), 412, 'no-store'],
      [get(options, {}, '', '.env'), 400, 'no-store'],
      [get(options, {}, '', NAME, 'DELETE'), 405, 'no-store'],
      [get(options, {}, 'x='.padEnd(3000, 'y')), 414, 'no-store'],
    ];
    for (const [pending, status, cacheControl] of cases) {
      const res = await pending;
      expect([res.status, res.headers['cache-control'], res.headers['x-stream-origin']]).toEqual([status, cacheControl, status < 400 ? 'fn' : undefined]);
    }
  });

  it('answers a request the edge sent directly with the fields it moved, never stored', async () => {
    const options = cdnOptions({});
    const direct = (fields: Record<string, string>, viewer: Record<string, string> = {}) => get(options, { ...viewer, [DIRECT_HEADER]: encodeDirect((name) => fields[name]) });
    const multipart = await direct({ range: 'bytes=0-1,5-6' });
    expect([multipart.status, multipart.headers['cache-control']]).toEqual([206, 'no-store']);
    expect(multipart.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect((await direct({ 'if-match': '"nope"' })).status).toBe(412);
    // If-Range with a stale tag: the whole file, as the contract says.
    const stale = await direct({ range: 'bytes=0-1', 'if-range': '"old"' });
    expect([stale.status, stale.headers['cache-control']]).toEqual([200, 'no-store']);
    // Fields the edge moved win; one it did not move is absent even if a viewer's copy came along.
    expect((await direct({}, { range: 'bytes=0-1' })).status).toBe(200);
    expect((await direct({ range: 'bytes=0-1' }, { range: 'bytes=5-6' })).headers['content-range']).toBe(`bytes 0-1/${DATA.length}`);
    // Values that need escaping survive the trip.
    expect((await direct({ 'if-none-match': 'W/"mem-10000", "a+b&c=d"' })).status).toBe(304);
  });
});
