/**
 * Types we serve as themselves. Anything else in the downloads folder is sent as an opaque
 * download: a stray .html or .svg must never render on the function's origin. The rules are
 * apart from mime-types' table (core/content-type.ts) so that the edge (edge/) can apply them
 * with a reduced table of its own: the full one is 200 KB, the edge allows 10 KB of code.
 */
export const SERVED_AS_IS = /^(video|audio)\/|^image\/(?!svg)|^application\/(vnd\.apple\.mpegurl|x-mpegurl|dash\+xml|mp4|ogg)$|^text\/vtt$|^application\/x-subrip$/;

/** Where mime-db's answer is not what browsers' <video> and <audio> recognise best. */
export const PREFERRED: Readonly<Record<string, string>> = {
  m4v: 'video/mp4',
  flac: 'audio/flac',
};

export const OPAQUE_TYPE = 'application/octet-stream';

/** The type an extension (lower case, no dot) maps to, as mime-types' lookup answers. */
export type TypeLookup = (extension: string) => string | false;

export function contentTypeWith(lookup: TypeLookup, filename: string): string {
  const dot = filename.lastIndexOf('.');
  const extension = dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
  if (extension === '') return OPAQUE_TYPE;
  const type = PREFERRED[extension] ?? lookup(extension);
  return type && SERVED_AS_IS.test(type) ? type : OPAQUE_TYPE;
}
