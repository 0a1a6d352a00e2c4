import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { requestFromEvent, responseModeOf } from '../../handlers/events';
import { EVENTS_DIR } from '../support/paths';

const load = async <T>(name: string) => JSON.parse(await readFile(join(EVENTS_DIR, name), 'utf8')) as T;

describe('HTTP events', () => {
  it('Function URL events stream and keep the raw path', async () => {
    const event = await load<APIGatewayProxyEventV2>('range.json');
    expect(responseModeOf(event, {})).toBe('stream');
    expect(requestFromEvent(event)).toMatchObject({ method: 'GET', rawPath: event.rawPath, rawQuery: '', headers: { range: 'bytes=0-1023' } });
  });

  it('HTTP API events (routes, execute-api domains) are buffered: HTTP APIs cannot stream', async () => {
    const base = await load<APIGatewayProxyEventV2>('range.json');
    expect(responseModeOf({ ...base, routeKey: 'GET /api/stream/{filename}' }, {})).toBe('buffered');
    expect(responseModeOf({ ...base, requestContext: { ...base.requestContext, domainName: 'x.execute-api.eu-west-1.amazonaws.com' } }, {})).toBe('buffered');
    expect(responseModeOf(base, { RESPONSE_MODE: 'buffered' })).toBe('buffered');
  });

  it('REST events stream only when serverless.yml says the integration does', async () => {
    const event = await load<APIGatewayProxyEvent>('rest-api-range.json');
    expect(responseModeOf(event, {})).toBe('buffered');
    expect(responseModeOf(event, { API_GATEWAY_STREAMING: 'true' })).toBe('stream');
  });

  it('REST events: every value of repeated headers, lower-case names, the query rebuilt', async () => {
    const event = await load<APIGatewayProxyEvent>('rest-api-range.json');
    const request = requestFromEvent({
      ...event,
      multiValueHeaders: { ...event.multiValueHeaders, 'If-None-Match': ['"a"', '"b"'] },
      multiValueQueryStringParameters: { download: ['1'], note: ['a b&c'] },
    });
    expect(request.method).toBe('GET');
    expect(request.rawPath).toBe(event.path);
    expect(request.headers['if-none-match']).toBe('"a", "b"');
    expect(request.headers.range).toBe('bytes=0-1023');
    expect(new URLSearchParams(request.rawQuery).get('download')).toBe('1');
    expect(new URLSearchParams(request.rawQuery).get('note')).toBe('a b&c');
  });
});
