import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { create } from 'content-disposition';
import { asciiFallback, attachmentDisposition, downloadFilename } from '../../core/download-name';

// Characters that make a value a token, a quoted-string or an RFC 8187 extended value, and the
// letters the ASCII fallback folds.
const CHARS = ['a', 'Z', '0', ' ', '"', '\\', "'", '(', ')', '*', '%', '%41', ';', ',', '=', '!', '~', '.', '_', '__', '-', 'ñ', 'Ñ', 'ü', 'é', 'ß', 'æ', 'ı', 'ǆ', '½', '™', 'ﬁ', '中', '🎬', 'e\u0301', '\u00a0', '\u0085'];
const name = fc.oneof(
  fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((parts) => `${parts.join('')}__task-1.mp4`),
  fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

describe('attachmentDisposition', () => {
  it('is exactly what content-disposition makes of the same name and fallback', () => {
    fc.assert(
      fc.property(name, (stored) => {
        const filename = downloadFilename(stored);
        expect(attachmentDisposition(stored)).toBe(create(filename, { type: 'attachment', fallback: asciiFallback(filename) }));
      }),
      { numRuns: 5_000 },
    );
  });

  it('names a download by its title, with an ASCII fallback', () => {
    expect(attachmentDisposition('Mi vídeo__9f.mp4')).toBe("attachment; filename=\"Mi video.mp4\"; filename*=UTF-8''Mi%20v%C3%ADdeo.mp4");
    expect(attachmentDisposition('Plain__9f.mp4')).toBe('attachment; filename=Plain.mp4');
    expect(attachmentDisposition("it's (1)__9f.mp4")).toBe('attachment; filename="it\'s (1).mp4"');
  });
});
