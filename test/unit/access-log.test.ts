import { describe, expect, it } from 'vitest';
import { accessLogLine, type AccessRecord } from '../../handlers/access-log';

const base: AccessRecord = {
  requestId: 'req-1',
  request: { method: 'GET', rawPath: '/api/stream/Canci%C3%B3n__1.mp4', rawQuery: 'expires=1795600800&signature=c2VjcmV0LXNpZ25hdHVyZS1vZi00My1jaGFyYWN0ZXJzLWxvbmc', headers: { range: 'bytes=0-', cookie: 'session=abc', authorization: 'Bearer t' } },
  status: 206,
  contentRange: 'bytes 0-4194303/10000000',
  bytes: 4_194_304,
  completed: true,
  durationMs: 12.3456,
  storageMs: 3.21,
  firstByteMs: 4.04,
  note: { client: { engine: 'chromium', media: true }, window: 'shortened' },
};

describe('the access log line', () => {
  it('is one line of JSON with what was asked, what was sent and how long it took', () => {
    const line = accessLogLine(base, new Date('2026-11-25T10:00:00Z'));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      timestamp: '2026-11-25T10:00:00.000Z',
      level: 'INFO',
      type: 'access',
      requestId: 'req-1',
      method: 'GET',
      key: 'Canción__1.mp4',
      rangeAsked: 'bytes=0-',
      rangeSent: 'bytes 0-4194303/10000000',
      client: 'chromium media',
      window: 'shortened',
      status: 206,
      bytes: 4_194_304,
      completed: true,
      durationMs: 12.3,
      storageMs: 3.2,
      firstByteMs: 4,
    });
  });

  it('never carries the query string (signatures) or other headers (cookies, credentials)', () => {
    const line = accessLogLine(base, new Date());
    for (const secret of ['signature', 'c2VjcmV0', 'expires', 'session=abc', 'Bearer']) expect(line).not.toContain(secret);
  });

  it('keeps hostile input on one line and short: the raw path of a refused name, clipped', () => {
    const hostile: AccessRecord = {
      ...base,
      request: { method: 'GET\r\nX: y', rawPath: `/api/stream/..%2f${'a'.repeat(5000)}\n{"level":"ERROR"}`, rawQuery: '', headers: { range: `bytes=${'0-0,'.repeat(3000)}` } },
      status: 400,
      contentRange: undefined,
      storageMs: undefined,
      firstByteMs: undefined,
    };
    const line = accessLogLine(hostile, new Date());
    expect(line.split('\n')).toHaveLength(1);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed.key).toBeUndefined();
    expect(String(parsed.path).length).toBeLessThanOrEqual(201);
    expect(String(parsed.rangeAsked).length).toBeLessThanOrEqual(201);
    expect(parsed.method).toBe('GET\r\nX: y');
    expect(parsed.level).toBe('INFO');
    expect('storageMs' in parsed || 'rangeSent' in parsed).toBe(false);
  });
});
