import { describe, expect, it } from 'vitest';
import { corsHeaders, corsPolicyOf, preflightHeaders } from '../../core/cors';
import { serveStream, DEFAULT_SERVE_OPTIONS } from '../../core/serve';
import { memoryStorage } from '../support/memory-storage';

const PLAYER = 'https://player.example.com';

describe('CORS policy', () => {
  it('is off by default, and reads "*" or a list of origins', () => {
    expect(corsPolicyOf(undefined)).toEqual({ kind: 'off' });
    expect(corsPolicyOf(' ')).toEqual({ kind: 'off' });
    expect(corsPolicyOf('*')).toEqual({ kind: 'any' });
    expect(corsPolicyOf(`${PLAYER}/, http://localhost:5173`)).toEqual({ kind: 'list', origins: new Set([PLAYER, 'http://localhost:5173']) });
    expect(() => corsPolicyOf('player.example.com')).toThrow('CORS_ORIGINS');
    expect(() => corsPolicyOf('https://a.example/path')).toThrow('CORS_ORIGINS');
  });

  it('allows listed origins only, always with Vary: Origin, exposing what players read', () => {
    const policy = corsPolicyOf(PLAYER);
    expect(corsHeaders(policy, PLAYER)).toEqual({
      vary: 'Origin',
      'access-control-allow-origin': PLAYER,
      'access-control-expose-headers': 'Content-Range, Accept-Ranges, Content-Length, Content-Disposition, ETag',
    });
    expect(corsHeaders(policy, 'https://evil.example')).toEqual({ vary: 'Origin' });
    expect(corsHeaders(policy, undefined)).toEqual({ vary: 'Origin' });
    expect(corsHeaders(corsPolicyOf('*'), 'https://any.example')['access-control-allow-origin']).toBe('*');
    expect(corsHeaders(corsPolicyOf(''), PLAYER)).toEqual({});
  });

  it('preflights allow Range, If-Range and the validators', () => {
    const headers = preflightHeaders(corsPolicyOf(PLAYER), PLAYER);
    expect(headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect(headers['access-control-allow-headers']).toBe('Range, If-Range, If-None-Match, If-Match, If-Modified-Since, If-Unmodified-Since');
    expect(preflightHeaders(corsPolicyOf(PLAYER), 'https://evil.example')['access-control-allow-methods']).toBeUndefined();
  });
});

describe('serveStream with CORS_ORIGINS', () => {
  const options = { ...DEFAULT_SERVE_OPTIONS, cors: corsPolicyOf(PLAYER) };
  const call = (method: string, headers: Record<string, string>, name = 'a__1.mp4') =>
    serveStream({ method, rawPath: `/api/stream/${name}`, rawQuery: '', headers }, memoryStorage({ 'a__1.mp4': Buffer.from('x') }).storage, options);

  it('answers preflights with 204 and no storage access, and adds CORS to every answer, errors included', async () => {
    const { storage, stats } = memoryStorage({});
    const preflight = await serveStream(
      { method: 'OPTIONS', rawPath: '/api/stream/a__1.mp4', rawQuery: '', headers: { origin: PLAYER, 'access-control-request-headers': 'range' } },
      storage,
      options,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toContain('Range');
    expect(stats.opens).toBe(0);
    for (const res of [await call('GET', { origin: PLAYER, range: 'bytes=0-0' }), await call('GET', { origin: PLAYER }, 'missing.mp4'), await call('POST', { origin: PLAYER })]) {
      expect(res.headers['access-control-allow-origin']).toBe(PLAYER);
    }
    expect((await call('POST', { origin: PLAYER })).headers.allow).toBe('GET, HEAD, OPTIONS');
  });
});
