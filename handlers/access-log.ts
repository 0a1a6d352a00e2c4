import type { StreamRequest } from '../core/request';
import { matchStreamRoute } from '../core/route';
import type { WindowNote } from '../core/serve';

/**
 * One JSON line per request on stdout: in Lambda, CloudWatch Logs Insights discovers its fields
 * (`filter status >= 500`, `stats avg(storageMs) by bin(5m)`), and locally `npm start | jq` reads
 * it. Plain JSON rather than @aws-lambda-powertools/logger: one line of JSON.stringify needs no
 * dependency and adds nothing to the cold start, and the fields are the same with the function's
 * log format set to Text or JSON. ACCESS_LOG=off silences it.
 *
 * Never logged: the query string (a signed link's signature is a credential until it expires) and
 * other request headers (cookies, authorization). `client` is what the window policy made of
 * Sec-Fetch-Dest and User-Agent (an engine, and whether a media element asked), not the header. Client-supplied text is truncated, and
 * JSON.stringify escapes control characters, so a hostile name cannot forge or split a line.
 */
export interface AccessRecord {
  readonly requestId: string;
  readonly request: StreamRequest;
  readonly status: number;
  /** The response's Content-Range, when it has one. */
  readonly contentRange: string | undefined;
  /** Body bytes handed to the response stream. */
  readonly bytes: number;
  /** false when the response was cut short (client gone, storage failed mid-body). */
  readonly completed: boolean;
  readonly durationMs: number;
  /** From asking storage to its answer (metadata, and the first bytes for S3); absent if never asked. */
  readonly storageMs: number | undefined;
  /** From the start of the invocation to the first body byte written; absent without a body. */
  readonly firstByteMs: number | undefined;
  /** The window policy's view of the request; absent for requests refused before storage. */
  readonly note: WindowNote | undefined;
}

const MAX_TEXT = 200;

export function accessLogLine(record: AccessRecord, now: Date): string {
  const { request } = record;
  const route = matchStreamRoute(request.rawPath);
  return JSON.stringify({
    timestamp: now.toISOString(),
    level: 'INFO',
    type: 'access',
    requestId: record.requestId,
    method: clip(request.method),
    // The decoded file name when the route accepted it; otherwise the raw path, as received.
    key: route.kind === 'file' ? clip(route.name) : undefined,
    path: route.kind === 'file' ? undefined : clip(request.rawPath),
    rangeAsked: request.headers.range === undefined ? undefined : clip(request.headers.range),
    rangeSent: record.contentRange,
    client: record.note === undefined ? undefined : `${record.note.client.engine}${record.note.client.media ? ' media' : ''}`,
    window: record.note?.window,
    status: record.status,
    bytes: record.bytes,
    completed: record.completed,
    durationMs: round(record.durationMs),
    storageMs: record.storageMs === undefined ? undefined : round(record.storageMs),
    firstByteMs: record.firstByteMs === undefined ? undefined : round(record.firstByteMs),
  });
}

function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT)}…`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
