import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { signedPath } from '../../core/signing';
import { request } from '../support/client';
import { SAMPLE_NAME } from '../support/paths';
import { CHROMIUM_ARGS, requireTool } from '../support/tools';

/** Signed links and CORS on a server with SIGNING_SECRET and CORS_ORIGINS set. */
const secure = inject('secure');
const otherOrigin = new URL(inject('tightBackends')[0]?.url ?? '').origin;
const link = (ttl = 600, name = SAMPLE_NAME) => `${secure.url}${signedPath(name, secure.signingSecret, ttl)}`;

describe('signed links over HTTP', () => {
  it('serves a signed link and refuses unsigned, expired and forged ones alike', async () => {
    expect((await request(link(), { headers: { range: 'bytes=0-9' } })).status).toBe(206);
    const unsigned = await request(`${secure.url}/api/stream/${SAMPLE_NAME}`);
    const expired = await request(link(-10));
    const forged = await request(link().replace(/signature=./, (s) => (s.endsWith('A') ? `${s.slice(0, -1)}B` : `${s.slice(0, -1)}A`)));
    const missing = await request(link(600, 'Nope__0000.mp4').replace('Nope__0000', 'Nope__0001'));
    for (const res of [unsigned, expired, forged, missing]) {
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body.toString())).toEqual({ detail: 'Enlace no válido o caducado' });
    }
    expect((await request(link(600, 'Nope__0000.mp4'))).status).toBe(404);
  });
});

describe('CORS for fetch()-based players in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: requireTool('/usr/bin/chromium', 'chromium'), args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** fetch() from a page of `origin`, with a header that forces a preflight; what the page can read. */
  async function fetchFrom(origin: string) {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const result = await page.evaluate(async (url) => {
      try {
        const res = await fetch(url, { headers: { Range: 'bytes=0-99', 'If-None-Match': '"not-this-one"' } });
        const body = await res.arrayBuffer();
        return { status: res.status, contentRange: res.headers.get('Content-Range'), acceptRanges: res.headers.get('Accept-Ranges'), etag: res.headers.get('ETag'), length: body.byteLength, error: '' };
      } catch (error) {
        return { status: 0, contentRange: null, acceptRanges: null, etag: null, length: 0, error: String(error) };
      }
    }, link());
    await page.close();
    return result;
  }

  it('an allowed origin reads Content-Range, Accept-Ranges and ETag of a 206, after a preflight', async () => {
    const result = await fetchFrom(secure.allowedOrigin);
    expect(result).toMatchObject({ status: 206, contentRange: expect.stringMatching(/^bytes 0-99\/\d+$/), acceptRanges: 'bytes', length: 100, error: '' });
    expect(result.etag).toMatch(/^"/);
  });

  it('any other origin is refused by the browser', async () => {
    const result = await fetchFrom(otherOrigin);
    expect(result.status).toBe(0);
    expect(result.error).toMatch(/TypeError/);
  });
});
