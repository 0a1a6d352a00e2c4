import { cdnCacheControl, FROM_FUNCTION_HEADER } from '../core/cdn';
import { contentTypeWith } from '../core/content-type-rules';
import { withCors } from '../core/cors';
import { attachmentDispositionWith, downloadFilename } from '../core/download-name';
import { isDownload } from '../core/query';
import { matchStreamRoute, STREAM_PREFIX } from '../core/route';
import { corsPolicyFrom, type EdgeConfig } from './config';
import type { CfEvent, CfResponse } from './event';
import { headerBag, rawPairs, toFields } from './fields';
import { asciiFallbackFrom, typeLookup, type EdgeTables } from './tables';

/**
 * The viewer-response function: S3's answers (from the origin or the cache) get the headers the
 * function would have given for the same request and file; the function's own answers (marked
 * x-stream-origin) keep theirs but CORS, which is redone for this viewer's Origin since a cached
 * answer may have been made for another. CloudFront runs no viewer-response function for
 * answers of 400 and above (AWS, "Restrictions on all edge functions"): those are the function's,
 * complete, or the viewer-request function's.
 */
export function viewerResponse(event: CfEvent, config: EdgeConfig, tables: EdgeTables): CfResponse {
  const { request } = event;
  const answer = event.response;
  if (answer === undefined || answer.statusCode >= 400) throw new Error('viewer-response event without a response below 400');
  const status = answer.statusCode;
  const fields = answer.headers;
  const fromFunction = fields[FROM_FUNCTION_HEADER] !== undefined;
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headerBag(fields))) {
    if (value === undefined || name === 'vary' || name.startsWith('access-control-') || name === FROM_FUNCTION_HEADER) continue;
    if (!fromFunction && (name.startsWith('x-amz-') || OWN_FIELDS.indexOf(name) !== -1)) continue;
    kept[name] = value;
  }
  if (!fromFunction) {
    const name = fileName(request.uri);
    const rawQuery = rawPairs(request.querystring).join('&');
    if (status !== 304 && name !== undefined) {
      kept['content-type'] = contentTypeWith(typeLookup(tables), name);
      kept['accept-ranges'] = 'bytes';
      kept['x-content-type-options'] = 'nosniff';
      // A name the table cannot fold never gets here with ?download=1: the viewer-request function sent it to the function.
      const fallback = isDownload(rawQuery) ? asciiFallbackFrom(tables, downloadFilename(name)) : undefined;
      if (fallback !== undefined) kept['content-disposition'] = attachmentDispositionWith(() => fallback, name);
    }
    kept['cache-control'] = cdnCacheControl(status, false, config.cache);
  }
  answer.headers = toFields(withCors(kept, corsPolicyFrom(config), headerBag(request.headers).origin));
  return answer;
}

/** What S3 may send of its own (object metadata included) that the function decides instead. */
const OWN_FIELDS = ['content-type', 'content-disposition', 'cache-control', 'x-content-type-options', 'accept-ranges'];

/** The stored name, from the URI as the viewer sent it or as the viewer-request function rewrote it. */
function fileName(uri: string): string | undefined {
  const route = matchStreamRoute(uri.startsWith(STREAM_PREFIX) ? uri : STREAM_PREFIX + uri.slice(1));
  return route.kind === 'file' ? route.name : undefined;
}
