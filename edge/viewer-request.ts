import { cdnCacheControl, DIRECT_FIELDS, DIRECT_HEADER, encodeDirect } from '../core/cdn';
import { withCors } from '../core/cors';
import { downloadFilename } from '../core/download-name';
import { gate } from '../core/gate';
import { rangeHint } from '../core/intent';
import { isDownload, queryValues } from '../core/query';
import { parseRangeHeader } from '../core/range';
import { verifySignedLink, type Hmac } from '../core/signed-link';
import type { RangeHint } from '../storage/types';
import { corsPolicyFrom, type EdgeConfig } from './config';
import type { CfEvent, CfRequest, CfResponse } from './event';
import { headerBag, rawPairs, response } from './fields';
import { canFold, type EdgeTables } from './tables';

/** What the runtime gives the function: its modules, passed in so that the logic is plain and testable. */
export interface RequestRuntime {
  /** HMAC-SHA256, base64url, with the runtime's crypto module. */
  readonly hmac: Hmac;
  /** cloudfront.selectRequestOriginById. */
  readonly selectOrigin: (originId: string) => void;
  /** Seconds since the epoch (the runtime's Date: the function's start time). */
  readonly nowSeconds: number;
}

/**
 * The viewer-request function: the function's own refusals (core/gate.ts, the same JSON and
 * headers), then the request rewritten for the origins. Nothing is cached before it runs, and a
 * generated answer goes straight to the viewer: the viewer-response function never sees it.
 */
export function viewerRequest(event: CfEvent, config: EdgeConfig, tables: Pick<EdgeTables, 'foldRanges'>, runtime: RequestRuntime): CfRequest | CfResponse {
  const request = event.request;
  const headers = headerBag(request.headers);
  const pairs = rawPairs(request.querystring);
  const rawQuery = pairs.join('&');
  const cors = corsPolicyFrom(config);
  const { secret } = config;
  const signature =
    secret === null
      ? undefined
      : (query: string, name: string) => {
          const values = queryValues(query);
          return verifySignedLink(values('expires'), values('signature'), name, secret, runtime.nowSeconds, runtime.hmac);
        };
  const gated = gate({ method: request.method, rawPath: request.uri, rawQuery, headers }, cors, signature);
  if (gated.kind === 'refuse') {
    const { plan } = gated;
    const answer = withCors({ ...plan.headers, 'cache-control': cdnCacheControl(plan.status, false, config.cache) }, cors, headers.origin);
    // CloudFront sets Content-Length from the body; HEAD gets the headers alone, as from the function.
    delete answer['content-length'];
    const body = plan.body.kind === 'json' && request.method.toUpperCase() !== 'HEAD' ? plan.body.text : undefined;
    return response(plan.status, answer, body);
  }

  const { name } = gated;
  // Both origins find the file under "/" + its name, through their OriginPath (/downloads, /api/stream).
  request.uri = `/${encodeURIComponent(name)}`;
  // Only what an origin reads goes on: `download` (for the function's Content-Disposition). Not
  // the signature (in no cache key and no log), nor what S3 would take for a subresource.
  request.querystring = pairs.filter((pair) => queryValues(pair)('download').length > 0).join('&');
  delete request.headers[DIRECT_HEADER];

  // Windows are off behind CloudFront (core/cdn.ts), so the range is the one the function would ask storage for.
  const parsed = headers.range === undefined ? undefined : parseRangeHeader(headers.range);
  const [spec, ...more] = parsed?.kind === 'bytes' ? parsed.specs : [];
  const range = spec === undefined ? undefined : more.length > 0 ? 'function' : s3Range(rangeHint(spec, { applies: false, limit: 0 }));
  const needsFunction =
    // A repeated Range header cannot be replaced by one value: CloudFront keeps the later ones
    // when only `value` changes ("CloudFront Functions event structure", multiValue rules).
    request.headers.range?.multiValue !== undefined ||
    headers['if-match'] !== undefined ||
    headers['if-unmodified-since'] !== undefined ||
    headers['if-range'] !== undefined ||
    (isDownload(rawQuery) && !canFold(tables.foldRanges, downloadFilename(name)));
  if (needsFunction || range === 'function') {
    request.headers[DIRECT_HEADER] = { value: encodeDirect((field) => headers[field]) };
    for (const field of DIRECT_FIELDS) delete request.headers[field];
    runtime.selectOrigin(config.fnOriginId);
  } else if (range === undefined) {
    delete request.headers.range;
  } else {
    request.headers.range = { value: range };
  }
  return request;
}

/**
 * The Range to send S3, or `function` when no range S3 understands gives the core's answer: a
 * start past 2^53, a suffix of zero or past 2^53 (206 with the whole file, where S3 without a
 * range would send 200), several ranges. The function answers those from the size alone. A
 * header the core ignores is deleted (undefined): S3 then sends the whole object, as the core.
 */
function s3Range(hint: RangeHint | 'none' | 'whole'): string | 'function' {
  if (hint === 'none' || hint === 'whole') return 'function';
  if (hint.kind === 'suffix') return `bytes=-${hint.length}`;
  return `bytes=${hint.start}-${hint.end === undefined ? '' : hint.end}`;
}
