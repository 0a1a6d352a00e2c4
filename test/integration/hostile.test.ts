import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lstat, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIG_NAME, BIG_SIZE } from '../support/fixtures';
import { SAMPLE_NAME } from '../support/paths';
import { rawRequest, request } from '../support/client';
import { resetS3Requests, s3Connections, s3Requests, storageWriter, type BackendContext } from '../support/backends';
import { headerCases, PATH_PAYLOADS } from '../support/hostile-corpus';
import { handlerPids, readChars } from '../support/processes';
import { DEFAULT_MAX_RANGE_BYTES } from '../../core/plan';
import { MEDIA_REQUEST } from '../../support/user-agents';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';

/** Splits a raw HTTP/1.1 answer into status, lower-case headers and body. */
function parse(text: string) {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}

describe('hostile input, as a corpus', () => {
  it('has at least 60 path payloads and 40 header cases', () => {
    expect(PATH_PAYLOADS.length).toBeGreaterThanOrEqual(60);
    expect(headerCases(BIG_SIZE, DEFAULT_MAX_RANGE_BYTES).length).toBeGreaterThanOrEqual(40);
  });
});

describe.each(inject('backends'))('hostile input against the $kind backend', (backend: BackendContext) => {
  const { url, downloads } = backend;

  beforeAll(async () => {
    if (backend.kind === 'local') {
      const parent = dirname(downloads);
      await writeFile(join(parent, 'outside-secret.mp4'), SECRET);
      await mkdir(join(downloads, 'sub'), { recursive: true });
      await writeFile(join(downloads, 'sub', 'nested.mp4'), SECRET);
      await writeFile(join(downloads, '.hidden.mp4'), SECRET);
      // Never caught: without the link, 'link-out.mp4' would be a 404 for a missing file and prove nothing.
      await symlink(join(parent, 'outside-secret.mp4'), join(downloads, 'link-out.mp4'));
    } else {
      // Outside the prefix is outside the root; a key with a slash is a file in a folder.
      const s3 = storageWriter(backend);
      await s3.put('outside', Buffer.from(SECRET), 'outside-secret.mp4');
      await s3.put('sub/nested.mp4', Buffer.from(SECRET));
      await s3.put('.hidden.mp4', Buffer.from(SECRET));
    }
  });
  afterAll(async () => {
    await rm(join(dirname(downloads), 'outside-secret.mp4'), { force: true });
    await rm(join(downloads, 'link-out.mp4'), { force: true });
  });

  if (backend.kind === 'local') {
    it('a symlink out of the root that a reader could follow: 404, no byte of it', async () => {
      const link = join(downloads, 'link-out.mp4');
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect(await readFile(link, 'utf8')).toBe(SECRET);
      const res = await request(`${url}/api/stream/link-out.mp4`);
      expect([res.status, res.body.toString()]).toEqual([404, JSON.stringify({ detail: 'Archivo no encontrado' })]);
    });
  }

  it.each(PATH_PAYLOADS.map((payload, i) => [i, payload] as const))('path payload %i: a 4xx with a JSON detail and no byte from outside', async (_i, payload) => {
    const res = parse((await rawRequest(url, `/api/stream/${payload}`)).text);
    expect(res.status, payload).toBeGreaterThanOrEqual(400);
    expect(res.status, payload).toBeLessThan(500);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ detail: expect.any(String) });
    expect(res.body).not.toContain(SECRET);
    expect(res.body).not.toMatch(/at .*\.(ts|js|mjs):\d+/);
  });

  // As a player's media request (windowed by default) and as any other client (the whole range).
  const player = Object.entries(MEDIA_REQUEST).map(([name, value]) => [name, value] as const);
  const cases = [
    ...headerCases(BIG_SIZE, DEFAULT_MAX_RANGE_BYTES).map((c) => ({ ...c, label: `player, ${c.label}`, headers: [...player, ...c.headers] })),
    ...headerCases(BIG_SIZE, undefined).map((c) => ({ ...c, label: `other client, ${c.label}` })),
  ];
  it.each(cases)('$label: $status, at a cost of at most the file once', async (c) => {
    const etag = (await request(`${url}/api/stream/${BIG_NAME}`, { method: 'HEAD' })).headers.etag ?? '';
    const lines = c.headers.map(([name, value]) => `${name}: ${value.replace(/etag/g, String(etag))}\r\n`).join('');
    const readBefore = readChars(handlerPids(backend));
    await resetS3Requests(backend);
    const bytesBefore = backend.kind === 's3' ? (await s3Connections(backend)).bytesOut : 0;
    const raw = await rawRequest(url, `/api/stream/${BIG_NAME}`, lines, c.method);
    const res = parse(raw.text);
    expect(res.status).toBe(c.status);
    if (c.contentRange !== undefined) expect(res.headers['content-range']).toBe(c.contentRange);
    if (res.status >= 400) expect(JSON.parse(res.body)).toEqual({ detail: expect.any(String) });
    // What the server read to answer: never more than the file once (plus request and framing).
    if (backend.kind === 'local') {
      expect(readChars(handlerPids(backend)) - readBefore).toBeLessThanOrEqual(BIG_SIZE + 256 * 1024);
    } else {
      const seen = await s3Requests(backend);
      expect(seen.length).toBeLessThanOrEqual(17);
      expect((await s3Connections(backend)).bytesOut - bytesBefore).toBeLessThanOrEqual(BIG_SIZE + 64 * 1024);
    }
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'PURGE', 'SEARCH'])('%s: 405 with Allow and a JSON detail', async (method) => {
    const res = parse((await rawRequest(url, `/api/stream/${SAMPLE_NAME}`, 'content-length: 0\r\n', method)).text);
    expect([res.status, res.headers.allow, res.headers['content-type']]).toEqual([405, 'GET, HEAD', 'application/json']);
    expect(JSON.parse(res.body)).toEqual({ detail: 'Method Not Allowed' });
  });

  it('a method the HTTP parser does not know: 400 in JSON, before the function', async () => {
    const res = parse((await rawRequest(url, `/api/stream/${SAMPLE_NAME}`, '', 'BREW')).text);
    expect([res.status, JSON.parse(res.body)]).toEqual([400, { detail: 'Bad Request' }]);
  });

  it('refuses long query strings (414) and oversized ones (431), in JSON', async () => {
    const long = parse((await rawRequest(url, `/api/stream/${SAMPLE_NAME}?x=${'a'.repeat(3000)}`)).text);
    expect([long.status, JSON.parse(long.body).detail]).toEqual([414, 'Consulta demasiado larga']);
    const huge = parse((await rawRequest(url, `/api/stream/${SAMPLE_NAME}?x=${'a'.repeat(20_000)}`)).text);
    expect(huge.status).toBe(431);
    expect(JSON.parse(huge.body)).toEqual({ detail: expect.any(String) });
  });

  it('keeps answering correctly after the whole corpus', async () => {
    const res = await request(`${url}/api/stream/${SAMPLE_NAME}`, { headers: { range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.body.equals(readFileSync(join(downloads, SAMPLE_NAME)).subarray(100, 200))).toBe(true);
  });
});
