import type { APIGatewayProxyEvent, APIGatewayProxyEventHeaders, APIGatewayProxyEventV2, LambdaFunctionURLEvent } from 'aws-lambda';
import type { HeaderBag, StreamRequest } from '../core/request';

/** The HTTP events this handler is wired to: Function URLs, REST APIs (payload 1.0), HTTP APIs (2.0). */
export type HttpEvent = LambdaFunctionURLEvent | APIGatewayProxyEvent | APIGatewayProxyEventV2;

/**
 * How the answer must leave the function:
 * - 'stream': Lambda response streaming, status and headers in the prelude (Function URLs with
 *   InvokeMode RESPONSE_STREAM; REST APIs whose integration has transfer mode STREAM);
 * - 'buffered': one JSON proxy result of at most 6 MB (REST APIs without streaming, HTTP APIs).
 * A REST event cannot say which its integration is; serverless.yml sets API_GATEWAY_STREAMING to
 * match what it configured. HTTP APIs never stream. RESPONSE_MODE forces either, for set-ups this
 * cannot tell apart (an HTTP API on a custom domain with a $default route).
 */
export function responseModeOf(event: HttpEvent, env: Readonly<Record<string, string | undefined>>): 'stream' | 'buffered' {
  if (env.RESPONSE_MODE === 'stream' || env.RESPONSE_MODE === 'buffered') return env.RESPONSE_MODE;
  if (isRestEvent(event)) return env.API_GATEWAY_STREAMING === 'true' ? 'stream' : 'buffered';
  const { domainName } = event.requestContext;
  const httpApi = event.routeKey !== '$default' || /\.execute-api\./.test(domainName);
  return httpApi ? 'buffered' : 'stream';
}

export function requestFromEvent(event: HttpEvent): StreamRequest {
  if (isRestEvent(event)) {
    const query = new URLSearchParams();
    for (const [key, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
      for (const value of values ?? []) query.append(key, value);
    }
    // multiValueHeaders has every value of a repeated header; `headers` only the last.
    const joined: Record<string, string> = {};
    for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
      if (values !== undefined) joined[name] = values.join(', ');
    }
    return {
      method: event.httpMethod,
      // REST APIs keep the path percent-encoded, as Function URLs do.
      rawPath: event.path,
      rawQuery: query.toString(),
      headers: lowerCaseHeaders(Object.keys(joined).length > 0 ? joined : event.headers),
    };
  }
  return {
    method: event.requestContext.http.method,
    rawPath: event.rawPath,
    rawQuery: event.rawQueryString ?? '',
    // Function URLs and HTTP APIs already join repeated headers with ",".
    headers: lowerCaseHeaders(event.headers),
  };
}

function isRestEvent(event: HttpEvent): event is APIGatewayProxyEvent {
  return 'httpMethod' in event;
}

export function lowerCaseHeaders(headers: APIGatewayProxyEventHeaders | undefined): HeaderBag {
  const bag: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    bag[key] = bag[key] === undefined ? value : `${bag[key]}, ${value}`;
  }
  return bag;
}
