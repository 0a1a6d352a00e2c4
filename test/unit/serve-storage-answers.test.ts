import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { serveStream, DEFAULT_SERVE_OPTIONS } from '../../core/serve';
import { StorageUnavailableError, type OpenResult, type ReadIntent, type Storage } from '../../storage/types';
import { collect } from '../support/http';

const quiet = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined };
const found = (size: number): OpenResult => ({
  status: 'found',
  object: {
    meta: { size, etag: '"now"', lastModified: Date.UTC(2024, 0, 1) },
    read: (w) => Readable.from([Buffer.alloc(w.end - w.start + 1, 1)]),
    close: async () => undefined,
  },
});

/** A storage that answers from a script and records what it was asked. */
function scripted(...answers: Array<OpenResult | Error>) {
  const intents: ReadIntent[] = [];
  const storage: Storage = {
    async open(_key, intent) {
      intents.push(intent);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('storage asked more often than scripted');
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { storage, intents };
}

const get = (storage: Storage, headers: Record<string, string> = {}) =>
  serveStream({ method: 'GET', rawPath: '/api/stream/a__1.mp4', rawQuery: '', headers }, storage, quiet);

describe('serveStream with the answers only a backend like S3 gives', () => {
  it('304 from storage keeps the validators it reported', async () => {
    const { storage } = scripted({ status: 'not-modified', etag: '"now"', lastModified: Date.UTC(2024, 0, 1) });
    const res = await get(storage, { 'if-none-match': '"now"' });
    expect(res.status).toBe(304);
    expect(res.headers).toEqual({ etag: '"now"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' });
  });

  it('412 from storage is a 412 when the client asked for it', async () => {
    const { storage, intents } = scripted({ status: 'precondition-failed' });
    expect((await get(storage, { 'if-match': '"old"' })).status).toBe(412);
    expect(intents).toHaveLength(1);
  });

  it('412 caused by If-Range becomes the whole current object, in exactly one more request', async () => {
    const { storage, intents } = scripted({ status: 'precondition-failed' }, found(10));
    const res = await get(storage, { range: 'bytes=0-4', 'if-range': '"old"', 'if-none-match': '"other"' });
    expect(res.status).toBe(200);
    expect((await collect(res.body)).length).toBe(10);
    expect(intents).toEqual([
      { body: { kind: 'range', range: { kind: 'from', start: 0, end: 4 } }, conditions: { ifMatch: '"old"' } },
      { body: { kind: 'whole' }, conditions: {} },
    ]);
  });

  it('416 from storage with its size', async () => {
    const { storage, intents } = scripted({ status: 'unsatisfiable', size: 1000 });
    const res = await get(storage, { range: 'bytes=5000-' });
    expect([res.status, res.headers['content-range']]).toEqual([416, 'bytes */1000']);
    expect(intents).toHaveLength(1);
  });

  it('416 from storage for a conditional request: the core asks for the metadata and decides (RFC 9110 §13.2.2)', async () => {
    // If-None-Match lists are not sent; the file's tag is in this one, so the answer is 304.
    const { storage, intents } = scripted({ status: 'unsatisfiable', size: 10 }, found(10));
    const res = await get(storage, { range: 'bytes=50-', 'if-none-match': '"x", "now"' });
    expect(res.status).toBe(304);
    expect(intents).toEqual([
      { body: { kind: 'range', range: { kind: 'from', start: 50, end: undefined } }, conditions: {} },
      { body: { kind: 'none' }, conditions: {} },
    ]);
  });

  it('416 from storage with a stale If-Range date is the whole current object', async () => {
    const { storage } = scripted({ status: 'unsatisfiable', size: 10 }, found(10));
    const res = await get(storage, { range: 'bytes=50-', 'if-range': 'Sun, 06 Nov 1994 08:49:37 GMT' });
    expect(res.status).toBe(200);
    expect((await collect(res.body)).length).toBe(10);
  });

  it('a suffix of an empty object, which storage refuses, is the empty whole (RFC 9110)', async () => {
    const { storage, intents } = scripted({ status: 'unsatisfiable', size: 0 }, found(0));
    const res = await get(storage, { range: 'bytes=-10' });
    expect([res.status, res.headers['content-length']]).toEqual([200, '0']);
    expect(intents[1]?.body).toEqual({ kind: 'none' });
  });

  it('storage that stays down: 503 for throttling and timeouts, 502 otherwise, no details', async () => {
    for (const [reason, status] of [['throttled', 503], ['timeout', 503], ['unreachable', 502], ['failed', 502]] as const) {
      const { storage } = scripted(new StorageUnavailableError(reason, 'SlowDown from bucket secret-bucket-name'));
      const res = await get(storage);
      const text = (await collect(res.body)).toString();
      expect(res.status, reason).toBe(status);
      expect(text).toBe('{"detail":"Almacenamiento no disponible"}');
      if (status === 503) expect(res.headers['retry-after']).toBe('1');
    }
  });
});
