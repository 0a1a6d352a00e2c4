import { describe, expect, it } from 'vitest';
import { contentTypeFor } from '../../core/content-type';

describe('contentTypeFor', () => {
  it.each([
    ['a__t.mp4', 'video/mp4'],
    ['a__t.M4V', 'video/mp4'],
    ['a__t.webm', 'video/webm'],
    ['a__t.mkv', 'video/x-matroska'],
    ['a__t.mov', 'video/quicktime'],
    ['a__t.m4a', 'audio/mp4'],
    ['a__t.mp3', 'audio/mpeg'],
    ['a__t.ogg', 'audio/ogg'],
    ['a__t.oga', 'audio/ogg'],
    ['a__t.ogv', 'video/ogg'],
    ['a__t.opus', 'audio/ogg'],
    ['a__t.flac', 'audio/flac'],
    ['a__t.wav', 'audio/wav'],
    ['a__t.ts', 'video/mp2t'],
    ['a__t.m3u8', 'application/vnd.apple.mpegurl'],
    ['a__t.vtt', 'text/vtt'],
    ['a__t.jpg', 'image/jpeg'],
  ])('%s is %s', (file, type) => {
    expect(contentTypeFor(file)).toBe(type);
  });

  it.each(['page.html', 'icon.svg', 'script.js', 'no-extension', 'data.json', 'x.unknownext', 'trailing.'])(
    '%s is an opaque download',
    (file) => {
      expect(contentTypeFor(file)).toBe('application/octet-stream');
    },
  );
});
