import { describe, expect, it } from 'vitest';
import { matchStreamRoute } from '../../core/route';

const name = (rawPath: string) => {
  const m = matchStreamRoute(rawPath);
  return m.kind === 'file' ? m.name : m.kind;
};

describe('matchStreamRoute', () => {
  it('decodes the file name exactly once', () => {
    expect(name('/api/stream/My_Video__123e4567-e89b-12d3.mp4')).toBe('My_Video__123e4567-e89b-12d3.mp4');
    expect(name('/api/stream/My%20Video__1.mp4')).toBe('My Video__1.mp4');
    expect(name('/api/stream/%C3%91and%C3%BA%20%E2%80%94%20%E6%97%A5%E6%9C%AC__t.webm')).toBe('Ñandú — 日本__t.webm');
    expect(name('/api/stream/100%25__x.mp4')).toBe('100%__x.mp4');
    // Double encoding stays encoded: %252e is the three characters "%2e", not a dot.
    expect(name('/api/stream/%252e%252e%252fetc%252fpasswd')).toBe('%2e%2e%2fetc%2fpasswd');
  });

  it.each(['/', '/api/stream', '/api/stream/', '/api/streams/x.mp4', '/API/stream/x.mp4', '/api//stream/x.mp4', '/x/api/stream/a'])(
    '%j is not the stream route',
    (path) => {
      expect(name(path)).toBe('no-route');
    },
  );

  it.each([
    ['..', '/api/stream/..'],
    ['encoded ..', '/api/stream/%2e%2e'],
    ['mixed-case encoded ..', '/api/stream/%2E%2e'],
    ['. ', '/api/stream/.'],
    ['dotfile', '/api/stream/.env'],
    ['encoded dotfile', '/api/stream/%2eenv'],
    ['slash', '/api/stream/a/b.mp4'],
    ['traversal', '/api/stream/../../etc/passwd'],
    ['encoded slash', '/api/stream/..%2f..%2fetc%2fpasswd'],
    ['encoded slash, upper case', '/api/stream/..%2F..%2Fetc%2Fpasswd'],
    ['backslash', '/api/stream/..%5c..%5cwindows%5cwin.ini'],
    ['raw backslash', '/api/stream/..\\..\\x'],
    ['absolute path', '/api/stream/%2fetc%2fpasswd'],
    ['drive letter', '/api/stream/C:%5cWindows%5cwin.ini'],
    ['drive-relative', '/api/stream/c:boot.ini'],
    ['NUL', '/api/stream/video.mp4%00.txt'],
    ['newline', '/api/stream/a%0a.mp4'],
    ['DEL', '/api/stream/a%7f.mp4'],
    ['C1 control', '/api/stream/a%c2%85.mp4'],
    ['bad escape', '/api/stream/%zz.mp4'],
    ['truncated escape', '/api/stream/a%2'],
    ['invalid UTF-8', '/api/stream/%ff.mp4'],
    ['overlong UTF-8 dot', '/api/stream/%c0%ae%c0%ae%c0%afetc'],
    ['overlong UTF-8 slash', '/api/stream/..%c0%af..%c0%afetc'],
    ['encoded surrogate', '/api/stream/%ed%a0%80.mp4'],
    ['raw space', '/api/stream/a b.mp4'],
    ['raw non-ASCII', '/api/stream/ñ.mp4'],
    ['raw quote', '/api/stream/a"b.mp4'],
    ['over 255 bytes', `/api/stream/${'a'.repeat(252)}.mp4`],
    ['over 255 bytes of UTF-8', `/api/stream/${'%C3%B1'.repeat(128)}`],
    ['10 KB', `/api/stream/${'a'.repeat(10_000)}`],
  ])('refuses %s', (_label, path) => {
    expect(name(path)).toBe('bad-name');
  });

  it('counts UTF-8 bytes as Buffer does, for 1- to 4-byte characters', () => {
    for (const char of ['a', 'ñ', '日', '😀']) {
      const count = Math.floor(255 / Buffer.byteLength(char));
      const fits = `/api/stream/${encodeURIComponent(char.repeat(count))}`;
      const over = `/api/stream/${encodeURIComponent(char.repeat(count + 1))}`;
      expect(name(fits), char).toBe(char.repeat(count));
      expect(matchStreamRoute(over).kind, char).toBe('bad-name');
    }
  });

  it('accepts a name of exactly 255 bytes', () => {
    expect(name(`/api/stream/${'a'.repeat(251)}.mp4`)).toHaveLength(255);
  });
});
