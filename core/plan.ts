import type { ByteWindow, ObjectMeta } from '../storage/types';
import { attachmentDisposition } from './download-name';
import { formatHttpDate } from './http-date';
import type { ParsedRequest } from './parsed-request';
import { evaluatePreconditions, ifRangeHolds, validatorsOf } from './preconditions';
import { resolveRanges } from './range';
import { utf8Length } from './utf8';
import { VARY_BY_CLIENT } from './window-policy';

/**
 * The functional core: from a parsed request and a file's metadata, decide status, headers and
 * which bytes form the body. No I/O; every adapter and backend shares it.
 */

export type Headers = Record<string, string>;

export type PlannedBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly text: string }
  /** Too large for one response: the client is sent to storage itself (a presigned URL). */
  | { readonly kind: 'offload'; readonly method: 'GET' | 'HEAD'; readonly disposition: string | undefined }
  /** One window of the file; undefined for an empty file. */
  | { readonly kind: 'file'; readonly window: ByteWindow | undefined }
  | { readonly kind: 'multipart'; readonly parts: readonly MultipartPart[]; readonly closing: string };

export interface MultipartPart {
  /** Delimiter and part header fields, ASCII. */
  readonly head: string;
  readonly window: ByteWindow;
}

export interface ResponsePlan {
  readonly status: number;
  readonly headers: Headers;
  readonly body: PlannedBody;
  /** A window applied: the 206 carries less than the range asked for. */
  readonly shortened?: true;
}

export interface PlanOptions {
  /**
   * More parts than this after combining overlaps, and the answer is the whole file: each part is a
   * storage read, and browsers and players never ask for more than a few.
   */
  readonly maxParts: number;
  /** The multipart boundary; random in production, fixed in tests. */
  readonly boundary: () => string;
  /**
   * The most bytes any one response may carry (MAX_RESPONSE_BYTES; Lambda streams at most 200 MB).
   * A larger answer is sent from storage directly when it can presign a URL, else refused (413).
   */
  readonly maxResponseBytes: number;
}

/** What the route and the backend add to the plan, beyond the request. */
export interface Delivery {
  /** The name the file is stored under, for the attachment's file name. */
  readonly name: string;
  /** Storage can hand the client a presigned URL for what is too large to stream. */
  readonly canOffload: boolean;
}

export const DEFAULT_MAX_PARTS = 16;
/** 4 MiB: every window fits Lambda's 6 MB full-speed allowance with room to spare (README "Response windows"). */
export const DEFAULT_MAX_RANGE_BYTES = 4 * 1024 * 1024;
/** 190 MiB: under Lambda's 200 MB per streamed response, whichever megabyte AWS means. */
export const DEFAULT_MAX_RESPONSE_BYTES = 190 * 1024 * 1024;

export interface Representation extends ObjectMeta {
  readonly contentType: string;
}

export const MESSAGES = {
  notFound: 'Archivo no encontrado',
  badName: 'Nombre de archivo no válido',
  unsatisfiable: 'Rango no satisfacible',
  preconditionFailed: 'Precondición no cumplida',
  // The original service is FastAPI; these two are its own words for routing errors.
  noRoute: 'Not Found',
  methodNotAllowed: 'Method Not Allowed',
  internal: 'Internal Server Error',
  storageUnavailable: 'Almacenamiento no disponible',
  badSignature: 'Enlace no válido o caducado',
  queryTooLong: 'Consulta demasiado larga',
  tooLarge: 'Archivo demasiado grande para una sola respuesta: pídalo por rangos (cabecera Range: bytes=inicio-fin)',
} as const;

export function jsonError(status: number, detail: string, extra: Headers = {}): ResponsePlan {
  const text = JSON.stringify({ detail });
  return {
    status,
    headers: {
      ...extra,
      'content-type': 'application/json',
      'content-length': String(utf8Length(text)),
    },
    body: { kind: 'json', text },
  };
}

/** 304: the validators a 200 would carry, no body (RFC 9110 §15.4.5). */
export function notModified(etag: string | undefined, lastModified: number | undefined): ResponsePlan {
  const headers: Headers = {};
  if (etag !== undefined) headers.etag = etag;
  if (lastModified !== undefined) headers['last-modified'] = formatHttpDate(lastModified);
  return { status: 304, headers, body: { kind: 'none' } };
}

export function rangeNotSatisfiable(size: number): ResponsePlan {
  return jsonError(416, MESSAGES.unsatisfiable, { 'accept-ranges': 'bytes', 'content-range': `bytes */${size}` });
}

export function planResponse(request: ParsedRequest, rep: Representation, options: PlanOptions, delivery: Delivery): ResponsePlan {
  const plan = planGet(request, rep, options, delivery);
  // HEAD: the same status and header fields as GET (RFC 9110 §9.3.2), no body.
  return request.method === 'HEAD' && plan.body.kind !== 'offload' ? { ...plan, body: { kind: 'none' } } : plan;
}

function planGet(request: ParsedRequest, rep: Representation, options: PlanOptions, delivery: Delivery): ResponsePlan {
  const validators = validatorsOf(rep.etag, rep.lastModified);
  const precondition = evaluatePreconditions(request.method, request.preconditions, validators);
  if (precondition === 'failed') return jsonError(412, MESSAGES.preconditionFailed);
  if (precondition === 'not-modified') return notModified(rep.etag, rep.lastModified);

  const disposition = request.download ? attachmentDisposition(delivery.name) : undefined;
  const common: Headers = {
    etag: rep.etag,
    'last-modified': formatHttpDate(rep.lastModified),
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    ...(disposition === undefined ? {} : { 'content-disposition': disposition }),
  };
  const tooLarge = (): ResponsePlan =>
    delivery.canOffload
      ? { status: 307, headers: { 'cache-control': 'no-store' }, body: { kind: 'offload', method: request.method, disposition } }
      : jsonError(413, MESSAGES.tooLarge, { 'accept-ranges': 'bytes' });
  const wholePlan: ResponsePlan = {
    status: 200,
    headers: { ...common, 'content-type': rep.contentType, 'content-length': String(rep.size) },
    body: { kind: 'file', window: rep.size > 0 ? { start: 0, end: rep.size - 1 } : undefined },
  };
  const whole = () => (rep.size > options.maxResponseBytes ? tooLarge() : wholePlan);

  // HEAD mirrors GET here too, as nginx, Apache and send do; RFC 9110 §14.2 defines ranges for GET
  // only, but §9.3.2 asks HEAD to send what GET would, and Safari probes sizes this way.
  const { range, window } = request;
  if (range === undefined || range.kind === 'ignore') return whole();
  if (request.ifRange !== undefined && !ifRangeHolds(request.ifRange, validators)) return whole();
  const resolved = resolveRanges(range.specs, rep.size);
  if (resolved.kind === 'unsatisfiable') return rangeNotSatisfiable(rep.size);
  if (resolved.kind === 'whole') return whole();

  // An answer longer than one window is where the policy shortens, and so where another client
  // (other Sec-Fetch-Dest or User-Agent) could get another answer: caches must know (Vary).
  const byClient = (plan: ResponsePlan, longer: boolean): ResponsePlan =>
    window.varies && longer ? { ...plan, headers: { ...plan.headers, vary: VARY_BY_CLIENT } } : plan;
  const single = (requested: ByteWindow, partOfLonger = false): ResponsePlan => {
    const longer = partOfLonger || lengthOf(requested) > window.limit;
    const cut = window.applies && lengthOf(requested) > window.limit;
    const sent = cut ? { start: requested.start, end: requested.start + window.limit - 1 } : requested;
    if (lengthOf(sent) > options.maxResponseBytes) return byClient(tooLarge(), longer);
    const plan: ResponsePlan = {
      status: 206,
      headers: {
        ...common,
        'content-type': rep.contentType,
        'content-length': String(lengthOf(sent)),
        'content-range': `bytes ${sent.start}-${sent.end}/${rep.size}`,
      },
      body: { kind: 'file', window: sent },
      ...(cut || partOfLonger ? { shortened: true as const } : {}),
    };
    return byClient(plan, longer);
  };
  const [first, ...others] = resolved.windows;
  if (first === undefined) return whole();
  if (others.length === 0) return single(first);
  if (resolved.windows.length > options.maxParts) return whole();
  const multipart = planMultipart(resolved.windows, rep, options.boundary());
  // Never costlier than the file once: if the parts and their framing add up to the size of the
  // file or more, the whole file is the better (and allowed, §14.2) answer.
  if (multipart.length >= rep.size) return whole();
  // A windowed answer stays within one window: the first range alone, shortened if need be (the
  // client is told which by the single-part Content-Range and asks again for the rest).
  const longer = multipart.length > window.limit;
  if (window.applies && longer) return single(first, true);
  if (multipart.length > options.maxResponseBytes) return byClient(tooLarge(), longer);
  return byClient(
    {
      status: 206,
      headers: {
        ...common,
        'content-type': `multipart/byteranges; boundary=${multipart.boundary}`,
        'content-length': String(multipart.length),
      },
      body: { kind: 'multipart', parts: multipart.parts, closing: multipart.closing },
    },
    longer,
  );
}

function lengthOf(window: ByteWindow): number {
  return window.end - window.start + 1;
}

/** RFC 9110 §14.6: each part has its own Content-Type and Content-Range, CRLF line ends. */
function planMultipart(windows: readonly ByteWindow[], rep: Representation, boundary: string) {
  let length = 0;
  const parts = windows.map((window, index) => {
    const head =
      `${index === 0 ? '' : '\r\n'}--${boundary}\r\n` +
      `content-type: ${rep.contentType}\r\n` +
      `content-range: bytes ${window.start}-${window.end}/${rep.size}\r\n\r\n`;
    length += head.length + (window.end - window.start + 1);
    return { head, window };
  });
  const closing = `\r\n--${boundary}--\r\n`;
  length += closing.length;
  return { boundary, parts, closing, length };
}
