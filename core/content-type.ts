import { lookup } from 'mime-types';

/**
 * Types we serve as themselves. Anything else in the downloads folder is sent as an opaque
 * download: a stray .html or .svg must never render on the function's origin.
 */
const SERVED_AS_IS = /^(video|audio)\/|^image\/(?!svg)|^application\/(vnd\.apple\.mpegurl|x-mpegurl|dash\+xml|mp4|ogg)$|^text\/vtt$|^application\/x-subrip$/;

/** Where mime-db's answer is not what browsers' <video> and <audio> recognise best. */
const PREFERRED: Readonly<Record<string, string>> = {
  m4v: 'video/mp4',
  flac: 'audio/flac',
};

export const OPAQUE_TYPE = 'application/octet-stream';

export function contentTypeFor(filename: string): string {
  const dot = filename.lastIndexOf('.');
  const extension = dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
  if (extension === '') return OPAQUE_TYPE;
  const type = PREFERRED[extension] ?? lookup(extension);
  return type && SERVED_AS_IS.test(type) ? type : OPAQUE_TYPE;
}
