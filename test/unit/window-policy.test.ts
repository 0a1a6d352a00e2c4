import { describe, expect, it } from 'vitest';
import { clientKindOf, decideWindow, engineOf, type Engine } from '../../core/window-policy';
import { USER_AGENTS, type UserAgentName } from '../../support/user-agents';

describe('engineOf: the engine behind a User-Agent', () => {
  const expected: Record<UserAgentName, Engine> = {
    chrome: 'chromium',
    headlessChromium: 'chromium',
    edge: 'chromium',
    androidChrome: 'chromium',
    firefox: 'firefox',
    androidFirefox: 'firefox',
    safari: 'webkit',
    // Every iOS browser is WebKit, whatever its name.
    iosSafari: 'webkit',
    iosChrome: 'webkit',
    iosFirefox: 'webkit',
    webkitGtk: 'webkit',
    edgeHtml: 'other',
    curl: 'other',
    wget: 'other',
    ffmpeg: 'other',
  };
  it.each(Object.entries(expected))('%s is %s', (name, engine) => {
    expect(engineOf(USER_AGENTS[name as UserAgentName])).toBe(engine);
  });

  it('knows nothing of a missing or made-up agent', () => {
    for (const ua of [undefined, '', 'Mozilla/5.0', 'NotChrome/1', 'xFirefox/2', 'Chrome', 'AppleWebKitty/1'])
      expect(engineOf(ua)).toBe('other');
  });
});

describe('clientKindOf: media requests', () => {
  it('is media for Sec-Fetch-Dest video or audio, in any case and spacing', () => {
    for (const dest of ['video', 'audio', 'VIDEO', ' audio ']) expect(clientKindOf(dest, undefined).media).toBe(true);
    for (const dest of [undefined, '', 'empty', 'document', 'track', 'videos', 'video,audio'])
      expect(clientKindOf(dest, undefined).media).toBe(false);
  });
});

describe('decideWindow', () => {
  const chromeMedia = clientKindOf('video', USER_AGENTS.chrome);
  const safariMedia = clientKindOf('video', USER_AGENTS.safari);
  const chromeFetch = clientKindOf('empty', USER_AGENTS.chrome);
  it('proven: windows for media requests of Chromium and Firefox only, and the answer varies by client', () => {
    expect(decideWindow('proven', chromeMedia, false, 100)).toEqual({ applies: true, limit: 100, reason: 'proven engine', varies: true });
    expect(decideWindow('proven', clientKindOf('audio', USER_AGENTS.firefox), false, 100).applies).toBe(true);
    expect(decideWindow('proven', safariMedia, false, 100)).toEqual({
      applies: false,
      limit: 100,
      reason: 'unproven engine',
      varies: true,
    });
    expect(decideWindow('proven', chromeFetch, false, 100)).toEqual({ applies: false, limit: 100, reason: 'not media', varies: true });
  });

  it('all and off ignore the client; a download is never windowed', () => {
    expect(decideWindow('all', safariMedia, false, 100)).toEqual({ applies: true, limit: 100, reason: 'all', varies: false });
    expect(decideWindow('off', chromeMedia, false, 100)).toEqual({ applies: false, limit: 100, reason: 'off', varies: false });
    for (const policy of ['proven', 'all', 'off'] as const) {
      expect(decideWindow(policy, chromeMedia, true, 100)).toEqual({ applies: false, limit: 100, reason: 'download', varies: false });
    }
  });
});
