import { lookup } from 'mime-types';
import { contentTypeWith } from './content-type-rules';

export { OPAQUE_TYPE } from './content-type-rules';

/** The Content-Type of a stored file, from its extension (rules in core/content-type-rules.ts). */
export function contentTypeFor(filename: string): string {
  return contentTypeWith(lookup, filename);
}
