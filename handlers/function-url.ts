import type { APIGatewayProxyEventHeaders, LambdaFunctionURLEvent } from 'aws-lambda';
import type { HeaderBag, StreamRequest } from '../core/request';

/**
 * Function URL events (payload format 2.0). The Function URL front end keeps `rawPath`
 * percent-encoded (unlike API Gateway HTTP APIs, which decode it), lower-cases header names and
 * joins repeated headers with ",".
 */
export function requestFromUrlEvent(event: LambdaFunctionURLEvent): StreamRequest {
  return {
    method: event.requestContext.http.method,
    rawPath: event.rawPath,
    rawQuery: event.rawQueryString ?? '',
    headers: lowerCaseHeaders(event.headers),
  };
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
