import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checkSignature, signature, signedPath, signedQuery } from '../../core/signing';
import { sameText } from '../../core/signed-link';
import { serveStream, DEFAULT_SERVE_OPTIONS } from '../../core/serve';
import { memoryStorage } from '../support/memory-storage';
import { collect } from '../support/http';
import { PROJECT_ROOT } from '../support/paths';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const NOW = 1_800_000_000;
const NAME = 'Ñandú en el río__a1b2.mp4';

describe('signed links', () => {
  it('compares signatures by every character, whatever their position', () => {
    const sig = signature(SECRET, NAME, NOW);
    expect(sameText(sig, sig)).toBe(true);
    for (const at of [0, 21, 42]) expect(sameText(sig, sig.slice(0, at) + (sig[at] === 'A' ? 'B' : 'A') + sig.slice(at + 1)), String(at)).toBe(false);
    expect(sameText(sig, sig.slice(1))).toBe(false);
    expect(sameText('', '')).toBe(true);
  });

  it('accepts a link until it expires, then calls it expired', () => {
    const query = signedQuery(NAME, SECRET, 3600, NOW);
    expect(checkSignature(query, NAME, SECRET, NOW)).toBe('valid');
    expect(checkSignature(query, NAME, SECRET, NOW + 3600)).toBe('valid');
    expect(checkSignature(query, NAME, SECRET, NOW + 3601)).toBe('expired');
  });

  it('refuses forgeries: another file, another expiry, another secret, one changed character', () => {
    const query = new URLSearchParams(signedQuery(NAME, SECRET, 3600, NOW));
    const sig = query.get('signature') ?? '';
    expect(checkSignature(query.toString(), 'Other__a1b2.mp4', SECRET, NOW)).toBe('forged');
    expect(checkSignature(`expires=${NOW + 7200}&signature=${sig}`, NAME, SECRET, NOW)).toBe('forged');
    expect(checkSignature(query.toString(), NAME, `${SECRET}x`, NOW)).toBe('forged');
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect(checkSignature(`expires=${NOW + 3600}&signature=${flipped}`, NAME, SECRET, NOW)).toBe('forged');
  });

  it('calls everything else missing or malformed', () => {
    const sig = signature(SECRET, NAME, NOW + 10);
    expect(checkSignature('', NAME, SECRET, NOW)).toBe('missing');
    expect(checkSignature('download=1', NAME, SECRET, NOW)).toBe('missing');
    for (const query of [
      `expires=${NOW + 10}`,
      `signature=${sig}`,
      `expires=soon&signature=${sig}`,
      `expires=-1&signature=${sig}`,
      `expires=${NOW + 10}&signature=${sig}=`,
      `expires=${NOW + 10}&signature=${sig.slice(1)}`,
      `expires=${NOW + 10}&signature=${sig}&signature=${sig}`,
      `expires=${NOW + 10}&expires=${NOW + 10}&signature=${sig}`,
      `expires=${'9'.repeat(40)}&signature=${sig}`,
    ]) {
      expect(checkSignature(query, NAME, SECRET, NOW), query).toBe('malformed');
    }
  });

  it('signedPath is a ready link: the encoded route plus the query', () => {
    const path = signedPath(NAME, SECRET, 60, NOW);
    expect(path).toMatch(/^\/api\/stream\/%C3%91and%C3%BA%20en%20el%20r%C3%ADo__a1b2\.mp4\?expires=1800000060&signature=[\w-]{43}$/);
  });

  it('npm run sign prints a link the function accepts', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/sign.ts', NAME, '--ttl', '120', '--base-url', 'https://v.example.com/'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, SIGNING_SECRET: SECRET },
    });
    const url = new URL(stdout.trim());
    expect(url.origin + decodeURIComponent(url.pathname)).toBe(`https://v.example.com/api/stream/${NAME}`);
    expect(checkSignature(url.search.slice(1), NAME, SECRET, Math.floor(Date.now() / 1000))).toBe('valid');
  });
});

describe('serveStream with SIGNING_SECRET', () => {
  const data = Buffer.from('0123456789');
  const options = { ...DEFAULT_SERVE_OPTIONS, signingSecret: SECRET, now: () => NOW * 1000, logError: () => undefined };
  const get = (name: string, rawQuery: string) =>
    serveStream({ method: 'GET', rawPath: `/api/stream/${encodeURIComponent(name)}`, rawQuery, headers: {} }, memoryStorage({ [NAME]: data }).storage, options);

  it('serves a signed link, and 403s every unsigned, stale or forged one the same way', async () => {
    const good = await get(NAME, signedQuery(NAME, SECRET, 60, NOW));
    expect(good.status).toBe(200);
    expect((await collect(good.body)).equals(data)).toBe(true);
    const refusals = await Promise.all([
      get(NAME, ''),
      get(NAME, signedQuery(NAME, SECRET, 60, NOW - 120)),
      get(NAME, signedQuery(NAME, 'another-secret-0123456789-abcdefghijkl', 60, NOW)),
      get(NAME, 'expires=x&signature=y'),
      // Missing files are refused the same way: a bad link never tells whether a file exists.
      get('Missing__0000.mp4', ''),
      get('Missing__0000.mp4', signedQuery(NAME, SECRET, 60, NOW)),
    ]);
    for (const res of refusals) {
      expect(res.status).toBe(403);
      expect((await collect(res.body)).toString()).toBe('{"detail":"Enlace no válido o caducado"}');
    }
    expect((await get('Missing__0000.mp4', signedQuery('Missing__0000.mp4', SECRET, 60, NOW))).status).toBe(404);
  });

  it('refuses query strings over 2048 characters with 414, before anything else', async () => {
    const res = await get(NAME, `x=${'a'.repeat(3000)}`);
    expect(res.status).toBe(414);
    expect(JSON.parse((await collect(res.body)).toString())).toEqual({ detail: 'Consulta demasiado larga' });
  });
});
