import { parseIfRange, parsePreconditions, type IfRange, type Preconditions } from './preconditions';
import { isDownload } from './query';
import { parseRangeHeader, type ParsedRange } from './range';
import type { HeaderBag } from './request';
import { clientKindOf, decideWindow, type ClientKind, type WindowDecision, type WindowPolicy } from './window-policy';

/**
 * A GET or HEAD, its header fields parsed once, at the core's edge. The read intent (what to ask
 * storage for) and the response plan (what to answer) both read this one value, so they cannot
 * disagree on the range, the conditions or the window.
 */
export interface ParsedRequest {
  readonly method: 'GET' | 'HEAD';
  /** undefined: no Range header. `ignore`: one we do not serve (another unit, malformed). */
  readonly range: ParsedRange | undefined;
  /** undefined: no If-Range header. */
  readonly ifRange: IfRange | undefined;
  readonly preconditions: Preconditions;
  readonly client: ClientKind;
  /** `?download=1` (or `true`): the client saves a file. */
  readonly download: boolean;
  readonly window: WindowDecision;
}

export interface WindowSettings {
  /** RANGE_WINDOWS. */
  readonly policy: WindowPolicy;
  /** MAX_RANGE_BYTES: the most a window carries. */
  readonly maxRangeBytes: number;
}

export function parseRequest(method: 'GET' | 'HEAD', headers: HeaderBag, rawQuery: string, windows: WindowSettings): ParsedRequest {
  const client = clientKindOf(headers['sec-fetch-dest'], headers['user-agent']);
  const download = isDownload(rawQuery);
  return {
    method,
    range: headers.range === undefined ? undefined : parseRangeHeader(headers.range),
    ifRange: headers['if-range'] === undefined ? undefined : parseIfRange(headers['if-range']),
    preconditions: parsePreconditions(headers),
    client,
    download,
    window: decideWindow(windows.policy, client, download, windows.maxRangeBytes),
  };
}
