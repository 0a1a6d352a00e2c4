import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request, type Reply } from '../support/client';
import { startHandlerProcess, type HandlerOutput, type HandlerProcess } from '../support/handler-process';
import { PROJECT_ROOT } from '../support/paths';

/**
 * What the README promises of the settings (ACCESS_LOG, SIGNING_SECRET, CORS_ORIGINS,
 * MAX_RESPONSE_BYTES, `npm run sign`), held to its words through the real handler over HTTP, each
 * configuration in a process of its own started with exactly that environment: its init is a
 * cold start, and what it prints is kept.
 */
const ALLOWED = 'https://player.example';
const SECRET = randomBytes(32).toString('base64url');
const CLIP = 'Clip__1.mp4';
/** Larger than the MAX_RESPONSE_BYTES the tests below set where it matters. */
const BIG = 'Big__2.mp4';
const LIMIT = 100_000;
const WARNING = 'SIGNING_SECRET is not set: every file is served to anyone who knows its name';

let dir: string;
let clip: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'handler-settings-'));
  clip = randomBytes(10_000);
  await writeFile(join(dir, CLIP), clip);
  await writeFile(join(dir, BIG), randomBytes(2 * LIMIT));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A process with `env`, visited, then stopped: what it printed in its whole life. */
async function run(env: Record<string, string>, visit: (url: string) => Promise<void>): Promise<HandlerOutput> {
  const fn = await startHandlerProcess({ DOWNLOADS_DIR: dir, ...env });
  try {
    await visit(fn.url);
  } catch (error) {
    await fn.stop().catch(() => undefined);
    throw error;
  }
  return fn.stop();
}

const at = (url: string, name: string, query = '') => `${url}/api/stream/${encodeURIComponent(name)}${query}`;

/** Requests of every kind of answer, and the statuses they got. */
async function assorted(url: string): Promise<number[]> {
  const replies = [
    await request(at(url, CLIP)),
    await request(at(url, CLIP), { headers: { range: 'bytes=0-99' } }),
    await request(at(url, 'Missing__0.mp4')),
    await request(`${url}/api/stream/..%2fetc%2fpasswd`),
    await request(at(url, CLIP), { method: 'POST' }),
  ];
  return replies.map((reply) => reply.status);
}

describe('ACCESS_LOG (README "Logs")', () => {
  it('on by default: one JSON line per request on stdout, and nothing else there', async () => {
    let statuses: number[] = [];
    const { stdout } = await run({}, async (url) => {
      statuses = await assorted(url);
    });
    expect(statuses).toEqual([200, 206, 404, 400, 405]);
    const lines = stdout.split('\n').filter((line) => line !== '');
    const records = lines.map((line) => JSON.parse(line) as { type: string; status: number });
    expect(records.map((record) => [record.type, record.status])).toEqual(statuses.map((status) => ['access', status]));
  });

  it('off: not one line, whatever the answer', async () => {
    let statuses: number[] = [];
    const { stdout } = await run({ ACCESS_LOG: 'off' }, async (url) => {
      statuses = await assorted(url);
    });
    expect(statuses).toEqual([200, 206, 404, 400, 405]);
    expect(stdout).toBe('');
  });
});

describe('the warning while SIGNING_SECRET is unset (README "Access control")', () => {
  const count = (text: string, part: string) => text.split(part).length - 1;

  it('is logged once at every cold start without a secret, and never with one', async () => {
    const visit = (expected: number) => async (url: string) => {
      for (let i = 0; i < 3; i += 1) expect((await request(at(url, CLIP))).status).toBe(expected);
    };
    const [first, second, signed] = await Promise.all([
      run({}, visit(200)),
      run({}, visit(200)),
      run({ SIGNING_SECRET: SECRET }, visit(403)),
    ]);
    expect(count(first.stderr, WARNING)).toBe(1);
    expect(count(second.stderr, WARNING)).toBe(1);
    expect(signed.stderr).not.toContain('SIGNING_SECRET');
  });
});

describe('CORS (README "CORS")', () => {
  const servers = new Map<string, HandlerProcess>();
  const SETTINGS: Record<string, Record<string, string>> = { off: {}, list: { CORS_ORIGINS: ALLOWED }, any: { CORS_ORIGINS: '*' } };

  beforeAll(async () => {
    await Promise.all(
      Object.entries(SETTINGS).map(async ([name, env]) => servers.set(name, await startHandlerProcess({ DOWNLOADS_DIR: dir, ...env }))),
    );
  });
  afterAll(async () => {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  });
  const urlOf = (name: string) => {
    const server = servers.get(name);
    if (server === undefined) throw new Error(`no server ${name}`);
    return server.url;
  };

  const preflight = (url: string, origin: string | undefined, asked = 'range, if-range') =>
    request(at(url, CLIP), {
      method: 'OPTIONS',
      headers: {
        ...(origin === undefined ? {} : { origin }),
        'access-control-request-method': 'GET',
        'access-control-request-headers': asked,
      },
    });

  it('allows a preflight GET, HEAD, OPTIONS and the Range and validator headers for 10 minutes', async () => {
    for (const [name, allowOrigin] of [
      ['list', ALLOWED],
      ['any', '*'],
    ] as const) {
      const res = await preflight(urlOf(name), ALLOWED);
      expect(res.status, name).toBe(204);
      expect(res.headers['access-control-allow-origin'], name).toBe(allowOrigin);
      expect(res.headers['access-control-allow-methods'], name).toBe('GET, HEAD, OPTIONS');
      expect(res.headers['access-control-allow-headers'], name).toBe(
        'Range, If-Range, If-None-Match, If-Match, If-Modified-Since, If-Unmodified-Since',
      );
      expect(res.headers['access-control-max-age'], name).toBe('600');
    }
  });

  it('never allows credentials, whatever CORS_ORIGINS and Origin say, on answers and errors alike', async () => {
    const origins = [undefined, ALLOWED, 'https://other.example', 'null', `${ALLOWED}:443`];
    // What a page sending cookies would send: the cookie and credentials themselves, or a preflight for them.
    const credentials = { cookie: 'session=abc', authorization: 'Bearer token' };
    for (const name of Object.keys(SETTINGS)) {
      const url = urlOf(name);
      for (const origin of origins) {
        const from = origin === undefined ? {} : { origin };
        const replies: Array<[string, Reply]> = [
          ['GET', await request(at(url, CLIP), { headers: { ...from, ...credentials } })],
          ['HEAD', await request(at(url, CLIP), { method: 'HEAD', headers: { ...from, ...credentials } })],
          ['range', await request(at(url, CLIP), { headers: { ...from, ...credentials, range: 'bytes=5-' } })],
          ['preflight', await preflight(url, origin)],
          ['preflight for credentials', await preflight(url, origin, 'authorization, cookie')],
          ['missing', await request(at(url, 'Missing__0.mp4'), { headers: { ...from, ...credentials } })],
          ['bad name', await request(`${url}/api/stream/..%2f${CLIP}`, { headers: from })],
          ['POST', await request(at(url, CLIP), { method: 'POST', headers: { ...from, ...credentials } })],
        ];
        // CORS at work all the same: "*" with "*", the caller's origin only when it is listed.
        const allowOrigin = name === 'any' ? '*' : name === 'list' && origin === ALLOWED ? ALLOWED : undefined;
        for (const [what, res] of replies) {
          const label = `${name}, Origin ${origin}, ${what}`;
          expect(res.headers['access-control-allow-credentials'], label).toBeUndefined();
          expect(res.headers['access-control-allow-origin'], label).toBe(allowOrigin);
        }
      }
    }
  });
});

describe('`npm run sign -- --download` (README "Access control")', () => {
  const sign = async (name: string, url: string, ...flags: string[]) => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '--silent', 'sign', '--', name, '--ttl', '120', '--base-url', url, ...flags],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, SIGNING_SECRET: SECRET },
      },
    );
    return new URL(stdout.trim());
  };

  it('prints a download link (download=1, not signed) that the function accepts with the same secret', async () => {
    await run({ SIGNING_SECRET: SECRET }, async (url) => {
      const link = await sign(CLIP, url, '--download');
      expect(link.searchParams.get('download')).toBe('1');
      expect(link.searchParams.get('expires')).toMatch(/^\d+$/);
      const download = await request(link.href);
      expect(download.status).toBe(200);
      expect(download.headers['content-disposition']).toBe('attachment; filename=Clip.mp4');
      expect(download.body.equals(clip)).toBe(true);

      // download=1 is not part of what is signed: the same link without it plays inline.
      link.searchParams.delete('download');
      const inline = await request(link.href);
      expect([inline.status, inline.headers['content-disposition']]).toEqual([200, undefined]);
      const plain = await sign(CLIP, url);
      expect(plain.searchParams.has('download')).toBe(false);
      // And the secret is what makes it valid.
      expect((await request(at(url, CLIP, '?download=1'))).status).toBe(403);
    });
  });
});

describe('HEAD past MAX_RESPONSE_BYTES (README "Response windows, downloads and the limits of Lambda")', () => {
  it('gets on local disk the 413 GET gets, and within the limit what GET gets', async () => {
    await run({ MAX_RESPONSE_BYTES: String(LIMIT) }, async (url) => {
      const get = await request(at(url, BIG));
      const head = await request(at(url, BIG), { method: 'HEAD' });
      expect(get.status).toBe(413);
      expect(head.status).toBe(413);
      for (const field of ['content-type', 'content-length', 'accept-ranges']) expect(head.headers[field], field).toBe(get.headers[field]);
      expect(head.body.length).toBe(0);
      const range = await request(at(url, BIG), { method: 'HEAD', headers: { range: 'bytes=0-99' } });
      expect([range.status, range.headers['content-range']]).toEqual([206, `bytes 0-99/${2 * LIMIT}`]);
      expect((await request(at(url, CLIP), { method: 'HEAD' })).status).toBe(200);
    });
  });
});
