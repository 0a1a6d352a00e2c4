import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';

/**
 * The Function URL event (payload format 2.0) for a local request, shaped as the Function URL
 * front end shapes it: path and query kept percent-encoded, header names lower-cased, repeated
 * headers joined with ",", cookies moved to `cookies`.
 */
export function urlEventFromRequest(req: IncomingMessage, now = new Date()): LambdaFunctionURLEvent {
  const target = req.url ?? '/';
  const path = target.startsWith('/') ? target : new URL(target).pathname;
  const question = path.indexOf('?');
  const rawPath = question < 0 ? path : path.slice(0, question);
  const rawQueryString = question < 0 ? '' : path.slice(question + 1);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values === undefined) continue;
    if (name === 'cookie') cookies = values.flatMap((v) => v.split(/;\s*/)).filter((c) => c !== '');
    else headers[name] = values.join(',');
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    queryStringParameters[key] = queryStringParameters[key] === undefined ? value : `${queryStringParameters[key]},${value}`;
  }

  const method = req.method ?? 'GET';
  const event: LambdaFunctionURLEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies !== undefined) event.cookies = cookies;
  if (rawQueryString !== '') event.queryStringParameters = queryStringParameters;
  return event;
}

/** Who the function is, locally: what Lambda puts in the context (and the runtime's environment). */
export function localIdentity(functionName: string, memoryMb: number) {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
  } as const;
}

export function localContext(functionName: string, timeoutSeconds: number, memoryMb: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const unsupported = () => {
    throw new Error('callback-style completion is not available to streaming handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    ...localIdentity(functionName, memoryMb),
    // Present (undefined) in the runtime client's context too, unless the invoker sends them.
    identity: undefined,
    clientContext: undefined,
    tenantId: undefined,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
