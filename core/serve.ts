import { randomBytes } from 'node:crypto';
import { finished, type Readable } from 'node:stream';
import { StorageUnavailableError, type OpenResult, type ReadIntent, type Storage, type StoredObject } from '../storage/types';
import { multipartBody, readWindow } from './body';
import { cdnCacheControl, FROM_FUNCTION_HEADER, restoreDirect, type CdnSettings } from './cdn';
import { contentTypeFor } from './content-type';
import { gate } from './gate';
import { CORS_OFF, withCors, type CorsPolicy } from './cors';
import { checkSignature } from './signing';
import { planIntent } from './intent';
import { parseRequest, type ParsedRequest } from './parsed-request';
import {
  DEFAULT_MAX_PARTS,
  DEFAULT_MAX_RANGE_BYTES,
  DEFAULT_MAX_RESPONSE_BYTES,
  jsonError,
  type Delivery,
  MESSAGES,
  notModified,
  planResponse,
  rangeNotSatisfiable,
  type Headers,
  type PlanOptions,
  type ResponsePlan,
} from './plan';
import { resolveRanges } from './range';
import type { StreamRequest } from './request';
import type { ClientKind, WindowPolicy, WindowReason } from './window-policy';

/** An answer ready for any adapter: status, header fields, and a body that must be consumed or destroyed. */
export interface StreamResponse {
  readonly status: number;
  readonly headers: Headers;
  /** undefined: no body bytes (HEAD, 304). */
  readonly body: Readable | Buffer | undefined;
  /** For the access log, on answers to a GET or HEAD that got as far as storage. */
  readonly note?: WindowNote;
}

/** Who asked, as the window policy saw it, and, for a Range request, what the window did. */
export interface WindowNote {
  readonly client: ClientKind;
  /** `shortened`: the 206 is shorter than asked; `fits`: a window applied, the range was within it. */
  readonly window: 'shortened' | 'fits' | WindowReason | undefined;
}

export interface ServeOptions extends PlanOptions {
  /**
   * MAX_RANGE_BYTES: the most a window carries. A client the policy gives windows gets a longer or
   * open-ended range as a shorter 206 whose Content-Range says what was sent (RFC 9110 §15.3.7).
   */
  readonly maxRangeBytes: number;
  /** RANGE_WINDOWS: which clients get windows (core/window-policy.ts). */
  readonly rangeWindows: WindowPolicy;
  /** Lifetime of presigned URLs for answers too large to stream (PRESIGN_EXPIRES_SECONDS). */
  readonly presignExpiresSeconds: number;
  /** SIGNING_SECRET: when set, every request needs a valid `expires` + `signature`. */
  readonly signingSecret: string | undefined;
  readonly cors: CorsPolicy;
  /** Milliseconds since the epoch; a parameter so that expiry is testable. */
  readonly now: () => number;
  /** Where faults are reported; the client only ever sees a generic detail. */
  readonly logError: (message: string, error: unknown) => void;
  /**
   * CDN_MODE: behind CloudFront (core/cdn.ts). Requests the edge sent directly get their fields
   * back, and every answer gets the Cache-Control both origins share and a mark of its origin.
   */
  readonly cdn: CdnSettings | undefined;
}

export const DEFAULT_SERVE_OPTIONS: ServeOptions = {
  maxParts: DEFAULT_MAX_PARTS,
  maxRangeBytes: DEFAULT_MAX_RANGE_BYTES,
  rangeWindows: 'proven',
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  presignExpiresSeconds: 300,
  signingSecret: undefined,
  cors: CORS_OFF,
  now: () => Date.now(),
  boundary: () => randomBytes(12).toString('hex'),
  logError: (message, error) => console.error(message, error),
  cdn: undefined,
};

const NO_CONDITIONS: ReadIntent['conditions'] = {};

/** The whole endpoint: route, validate, open, decide, attach the bytes the decision names, add CORS. */
export async function serveStream(
  request: StreamRequest,
  storage: Storage,
  options: ServeOptions = DEFAULT_SERVE_OPTIONS,
): Promise<StreamResponse> {
  if (options.cdn === undefined) return serveDirectly(request, storage, options);
  const restored = restoreDirect(request);
  // CloudFront ignores Vary and its key has no client header: an answer it may keep must be the
  // same for every client, so no windows. Requests the edge sent directly are never kept (their
  // answers are no-store, their key carries x-stream-direct), so they get the policy's windows,
  // which bound what a player's seek (Chromium's If-Range ranges go this way) costs the function.
  const windows = restored.direct ? options : { ...options, rangeWindows: 'off' as const };
  const response = await serveDirectly(restored.request, storage, windows);
  const headers = { ...response.headers, 'cache-control': cdnCacheControl(response.status, restored.direct, options.cdn) };
  // Only answers below 400 meet the viewer-response function, which removes the mark.
  return { ...response, headers: response.status < 400 ? { ...headers, [FROM_FUNCTION_HEADER]: 'fn' } : headers };
}

async function serveDirectly(request: StreamRequest, storage: Storage, options: ServeOptions): Promise<StreamResponse> {
  const answered = await answer(request, storage, options);
  // HEAD gets the headers GET would get, refusals included, and never a body (RFC 9110 §9.3.2).
  const response = request.method.toUpperCase() === 'HEAD' && Buffer.isBuffer(answered.body) ? { ...answered, body: undefined } : answered;
  return { ...response, headers: withCors(response.headers, options.cors, request.headers.origin) };
}

/** The refusals decided before any I/O (core/gate.ts), then storage. */
async function answer(request: StreamRequest, storage: Storage, options: ServeOptions): Promise<StreamResponse> {
  const { signingSecret: secret } = options;
  const signature = secret === undefined ? undefined : (rawQuery: string, name: string) => checkSignature(rawQuery, name, secret, Math.floor(options.now() / 1000));
  const gated = gate(request, options.cors, signature);
  if (gated.kind === 'refuse') return withoutObject(gated.plan);
  const { method, name } = gated;

  const parsed = parseRequest(method, request.headers, request.rawQuery, { policy: options.rangeWindows, maxRangeBytes: options.maxRangeBytes });
  const delivery: Delivery = { name, canOffload: storage.presign !== undefined };
  let answered: Answered;
  try {
    answered = await openAndPlan(parsed, delivery, storage, options);
  } catch (error) {
    if (error instanceof StorageUnavailableError) {
      options.logError(`storage unavailable (${error.reason}) for ${JSON.stringify(name)}`, error);
      const busy = error.reason === 'throttled' || error.reason === 'timeout';
      answered = withoutObject(jsonError(busy ? 503 : 502, MESSAGES.storageUnavailable, busy ? { 'retry-after': '1' } : {}));
    } else {
      options.logError(`storage failed for ${JSON.stringify(name)}`, error);
      answered = withoutObject(jsonError(500, MESSAGES.internal));
    }
  }
  const { shortened, ...response } = answered;
  const window = parsed.range === undefined ? undefined : shortened === true ? 'shortened' : parsed.window.applies ? 'fits' : parsed.window.reason;
  return { ...response, note: { client: parsed.client, window } };
}

/** An answer, and whether a window made it shorter than asked (for the access log). */
type Answered = StreamResponse & { readonly shortened?: true };

/**
 * Asks storage with the intent the headers imply, then plans with the metadata it returns. Storage
 * is only shown conditions whose refusal is the answer (core/intent.ts); a refusal that is not
 * (a 416 where a condition or If-Range comes first, a range storage refuses where RFC 9110 does
 * not) makes the core ask for the metadata alone and decide itself. The core re-evaluates every
 * condition on the metadata of a found object, so the backends can only differ in cost.
 */
async function openAndPlan(request: ParsedRequest, delivery: Delivery, storage: Storage, options: ServeOptions): Promise<Answered> {
  const key = delivery.name;
  const { intent, ifMatchFromIfRange, unsatisfiableIsAnswer } = planIntent(request);
  let opened: OpenResult = await storage.open(key, intent);

  if (opened.status === 'precondition-failed' && ifMatchFromIfRange) {
    // The If-Range validator is stale: the whole current object; the core evaluates the rest.
    opened = await storage.open(key, { body: { kind: 'whole' }, conditions: NO_CONDITIONS });
  }
  if (opened.status === 'unsatisfiable') {
    const { range } = request;
    const unsatisfiable = range?.kind === 'bytes' && resolveRanges(range.specs, opened.size).kind === 'unsatisfiable';
    if (unsatisfiable && unsatisfiableIsAnswer) return withoutObject(rangeNotSatisfiable(opened.size));
    opened = await storage.open(key, { body: { kind: 'none' }, conditions: NO_CONDITIONS });
  }

  switch (opened.status) {
    case 'missing':
      return withoutObject(jsonError(404, MESSAGES.notFound));
    case 'not-modified':
      return withoutObject(notModified(opened.etag, opened.lastModified));
    case 'precondition-failed':
      return withoutObject(jsonError(412, MESSAGES.preconditionFailed));
    case 'unsatisfiable':
      return withoutObject(rangeNotSatisfiable(opened.size));
    case 'found': {
      const { object } = opened;
      // Until attachBody ties the object to its body stream, nothing else will close it: a throw on
      // the way (planning, a presign, a read that fails at once) would leave its file descriptor or
      // S3 body (and that socket) open. close() is idempotent.
      try {
        const contentType = contentTypeFor(key);
        const plan = planResponse(request, { ...object.meta, contentType }, options, delivery);
        if (plan.body.kind === 'offload' && storage.presign !== undefined) {
          void object.close();
          const location = await storage.presign(key, {
            method: plan.body.method,
            expiresInSeconds: options.presignExpiresSeconds,
            contentType,
            contentDisposition: plan.body.disposition,
          });
          return { status: plan.status, headers: { ...plan.headers, location }, body: undefined };
        }
        return attachBody(plan, object);
      } catch (error) {
        void object.close();
        throw error;
      }
    }
  }
}

function withoutObject(plan: ResponsePlan): Answered {
  const body = plan.body.kind === 'json' ? Buffer.from(plan.body.text) : undefined;
  return { status: plan.status, headers: plan.headers, body, ...(plan.shortened ? { shortened: plan.shortened } : {}) };
}

/** The object is closed once its body is done (ended, failed or destroyed), or at once if it has none. */
function attachBody(plan: ResponsePlan, object: StoredObject): Answered {
  const { body } = plan;
  let stream: Readable | undefined;
  if (body.kind === 'file' && body.window !== undefined) stream = readWindow(object, body.window);
  else if (body.kind === 'multipart') stream = multipartBody(object, body.parts, body.closing);

  if (stream === undefined) {
    void object.close();
    return withoutObject(plan);
  }
  finished(stream, () => void object.close());
  return { status: plan.status, headers: plan.headers, body: stream, ...(plan.shortened ? { shortened: plan.shortened } : {}) };
}
