import { CORS_METHODS, preflightHeaders, type CorsPolicy } from './cors';
import { jsonError, MESSAGES, type ResponsePlan } from './plan';
import type { StreamRequest } from './request';
import { matchStreamRoute } from './route';
import type { SignatureCheck } from './signed-link';

/** Longer query strings are refused (414): ours need under 200 characters. */
export const MAX_QUERY_LENGTH = 2048;

export type Gate =
  | { readonly kind: 'refuse'; readonly plan: ResponsePlan }
  | { readonly kind: 'pass'; readonly method: 'GET' | 'HEAD'; readonly name: string };

/**
 * Everything decided before storage, in order: the route, the method (a CORS preflight needs
 * nothing more), the size of the query, the file name, the signature. The function
 * (core/serve.ts) and the viewer-request function at the edge (edge/) both ask this, so they
 * refuse the same requests in the same way. `signature` is undefined for public links; each
 * runtime passes its own HMAC through it. A bad or missing signature is refused the same way
 * whatever the file, so a refusal says nothing about whether it exists.
 */
export function gate(request: StreamRequest, cors: CorsPolicy, signature: ((rawQuery: string, name: string) => SignatureCheck) | undefined): Gate {
  const route = matchStreamRoute(request.rawPath);
  if (route.kind === 'no-route') return refuse(jsonError(404, MESSAGES.noRoute));
  const method = request.method.toUpperCase();
  const corsOn = cors.kind !== 'off';
  if (method === 'OPTIONS' && corsOn) {
    return refuse({ status: 204, headers: { ...preflightHeaders(cors, request.headers.origin), allow: CORS_METHODS }, body: { kind: 'none' } });
  }
  if (method !== 'GET' && method !== 'HEAD') return refuse(jsonError(405, MESSAGES.methodNotAllowed, { allow: corsOn ? CORS_METHODS : 'GET, HEAD' }));
  if (request.rawQuery.length > MAX_QUERY_LENGTH) return refuse(jsonError(414, MESSAGES.queryTooLong));
  if (route.kind === 'bad-name') return refuse(jsonError(400, MESSAGES.badName));
  if (signature !== undefined && signature(request.rawQuery, route.name) !== 'valid') return refuse(jsonError(403, MESSAGES.badSignature));
  return { kind: 'pass', method, name: route.name };
}

function refuse(plan: ResponsePlan): Gate {
  return { kind: 'refuse', plan };
}
