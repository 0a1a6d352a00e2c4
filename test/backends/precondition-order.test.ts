import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVE_OPTIONS, serveStream } from '../../core/serve';
import { formatHttpDate } from '../../core/http-date';
import { collect } from '../support/http';
import { currentValidators, startTwinBackends, type NamedBackend, type TwinBackends } from '../support/twin-backends';

/**
 * RFC 9110 §13.2.2's order (If-Match, If-Unmodified-Since → 412; If-None-Match, If-Modified-Since
 * → 304; then Range with If-Range → 200, 206 or 416), on a 9-byte file in both real backends.
 * The expected answers are written from the RFC. Each backend fills in its own validators:
 * `<etag>` its ETag, `<lm>` its Last-Modified, `<earlier>` / `<later>` a day either side.
 */
const FILE = Buffer.from('abcdefghi');
const NAME = 'nine__1.mp4';

type Row = readonly [why: string, headers: Record<string, string>, status: number, body?: string | undefined, method?: 'HEAD'];
const ROWS: readonly Row[] = [
  // The four requests of issue 12, where S3 used to answer with what it alone was shown.
  ['If-Match list fails before the range is looked at', { range: 'bytes=50-', 'if-match': '"x", "y"' }, 412],
  ['a stale If-Range date makes the range the whole file', { range: 'bytes=50-', 'if-range': '<earlier>' }, 200, 'abcdefghi'],
  ['If-None-Match list matches before the range is looked at', { range: 'bytes=50-', 'if-none-match': '"zz", <etag>' }, 304],
  ['If-Match list fails before If-None-Match matches', { 'if-match': '"x", "y"', 'if-none-match': '<etag>' }, 412],
  // The same order with the single validators storage is shown.
  ['If-Match holds: the range is unsatisfiable', { range: 'bytes=50-', 'if-match': '<etag>' }, 416],
  ['If-Match * holds', { range: 'bytes=50-', 'if-match': '*' }, 416],
  ['If-Match fails', { range: 'bytes=50-', 'if-match': '"x"' }, 412],
  ['If-Unmodified-Since fails', { range: 'bytes=50-', 'if-unmodified-since': '<earlier>' }, 412],
  ['If-None-Match matches', { range: 'bytes=50-', 'if-none-match': '<etag>' }, 304],
  ['If-None-Match * matches', { range: 'bytes=50-', 'if-none-match': '*' }, 304],
  ['If-Modified-Since not modified', { range: 'bytes=50-', 'if-modified-since': '<later>' }, 304],
  ['If-Match holds, If-None-Match matches', { 'if-match': '<etag>', 'if-none-match': '<etag>' }, 304],
  ['If-Unmodified-Since fails before If-Modified-Since', { 'if-unmodified-since': '<earlier>', 'if-modified-since': '<later>' }, 412],
  ['If-Match list holds, If-None-Match does not match', { 'if-match': '"x", <etag>', 'if-none-match': '"zz"' }, 200, 'abcdefghi'],
  ['HEAD: If-Match list fails before If-None-Match', { 'if-match': '"x", "y"', 'if-none-match': '<etag>' }, 412, undefined, 'HEAD'],
  // If-Range, after every precondition.
  ['current If-Range tag: the range applies', { range: 'bytes=50-', 'if-range': '<etag>' }, 416],
  ['current If-Range date: the range applies', { range: 'bytes=50-', 'if-range': '<lm>' }, 416],
  ['stale If-Range tag: the whole file', { range: 'bytes=50-', 'if-range': '"old"' }, 200, 'abcdefghi'],
  ['weak If-Range tag never holds', { range: 'bytes=50-', 'if-range': 'W/<etag>' }, 200, 'abcdefghi'],
  ['If-Match list fails before If-Range', { range: 'bytes=50-', 'if-match': '"x", "y"', 'if-range': '<etag>' }, 412],
  ['stale If-Range, If-None-Match matches', { range: 'bytes=2-4', 'if-range': '"old"', 'if-none-match': '<etag>' }, 304],
  ['stale If-Range date, If-None-Match list does not match', { range: 'bytes=2-4', 'if-range': '<earlier>', 'if-none-match': '"a", "b"' }, 200, 'abcdefghi'],
  ['current If-Range tag, satisfiable range', { range: 'bytes=2-4', 'if-range': '<etag>' }, 206, 'cde'],
  ['If-None-Match list does not match: the suffix', { range: 'bytes=-5', 'if-none-match': '"x", "y"' }, 206, 'efghi'],
];

let twins: TwinBackends;
beforeAll(async () => {
  twins = await startTwinBackends({ [NAME]: FILE });
}, 60_000);
afterAll(async () => {
  await twins?.stop();
});

const options = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined };

async function ask(backend: NamedBackend, method: 'GET' | 'HEAD', headers: Record<string, string>) {
  const rawPath = `/api/stream/${NAME}`;
  return serveStream({ method, rawPath, rawQuery: '', headers }, backend.storage, options);
}

/** Fills a row's placeholders with the backend's own validators. */
async function fillerFor(backend: NamedBackend) {
  const { etag, lastModified } = await currentValidators(backend, NAME);
  const day = 86_400_000;
  return (value: string) =>
    value
      .replace('<etag>', etag)
      .replace('<lm>', formatHttpDate(lastModified))
      .replace('<earlier>', formatHttpDate(lastModified - day))
      .replace('<later>', formatHttpDate(lastModified + day));
}

describe.each(['local', 's3'] as const)('RFC 9110 precondition order on the %s backend', (which) => {
  for (const [why, template, status, body, method = 'GET'] of ROWS) it(why, async () => {
    const backend = twins[which];
    const fill = await fillerFor(backend);
    const headers = Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fill(v)]));
    const res = await ask(backend, method, headers);
    const bytes = await collect(res.body);
    expect(res.status).toBe(status);
    if (body !== undefined) expect(bytes.toString()).toBe(body);
    if (status === 304) expect(bytes.length).toBe(0);
    if (status === 416) expect(res.headers['content-range']).toBe(`bytes */${FILE.length}`);
  });
});
