import { randomBytes } from 'node:crypto';
import { finished, type Readable } from 'node:stream';
import type { Storage, StoredObject } from '../storage/types';
import { multipartBody, readWindow } from './body';
import { contentTypeFor } from './content-type';
import { DEFAULT_MAX_PARTS, jsonError, MESSAGES, planResponse, type Headers, type PlanOptions, type ResponsePlan } from './plan';
import type { StreamRequest } from './request';
import { matchStreamRoute } from './route';

/** An answer ready for any adapter: status, header fields, and a body that must be consumed or destroyed. */
export interface StreamResponse {
  readonly status: number;
  readonly headers: Headers;
  /** undefined: no body bytes (HEAD, 304). */
  readonly body: Readable | Buffer | undefined;
}

export interface ServeOptions extends PlanOptions {
  /** Where faults are reported; the client only ever sees a generic detail. */
  readonly logError: (message: string, error: unknown) => void;
}

export const DEFAULT_SERVE_OPTIONS: ServeOptions = {
  maxParts: DEFAULT_MAX_PARTS,
  boundary: () => randomBytes(12).toString('hex'),
  logError: (message, error) => console.error(message, error),
};

const ALLOW = 'GET, HEAD';

/** The whole endpoint: route, validate, open, decide, and attach the bytes the decision names. */
export async function serveStream(
  request: StreamRequest,
  storage: Storage,
  options: ServeOptions = DEFAULT_SERVE_OPTIONS,
): Promise<StreamResponse> {
  const route = matchStreamRoute(request.rawPath);
  if (route.kind === 'no-route') return withoutStorage(jsonError(404, MESSAGES.noRoute));
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    return withoutStorage(jsonError(405, MESSAGES.methodNotAllowed, { allow: ALLOW }));
  }
  if (route.kind === 'bad-name') return withoutStorage(jsonError(400, MESSAGES.badName));

  let object: StoredObject | undefined;
  try {
    object = await storage.open(route.name);
  } catch (error) {
    options.logError(`storage could not open ${JSON.stringify(route.name)}`, error);
    return withoutStorage(jsonError(500, MESSAGES.internal));
  }
  if (object === undefined) return withoutStorage(jsonError(404, MESSAGES.notFound));

  const plan = planResponse(method, request.headers, { ...object.meta, contentType: contentTypeFor(route.name) }, options);
  return attachBody(plan, object);
}

function withoutStorage(plan: ResponsePlan): StreamResponse {
  return { status: plan.status, headers: plan.headers, body: plan.body.kind === 'json' ? Buffer.from(plan.body.text) : undefined };
}

/** The object is closed once its body is done (ended, failed or destroyed), or at once if it has none. */
function attachBody(plan: ResponsePlan, object: StoredObject): StreamResponse {
  const { body } = plan;
  let stream: Readable | undefined;
  if (body.kind === 'file' && body.window !== undefined) stream = readWindow(object, body.window);
  else if (body.kind === 'multipart') stream = multipartBody(object, body.parts, body.closing);

  if (stream === undefined) {
    void object.close();
    return withoutStorage(plan);
  }
  finished(stream, () => void object.close());
  return { status: plan.status, headers: plan.headers, body: stream };
}
