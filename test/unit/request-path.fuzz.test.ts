import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedQuery } from '../../core/signing';
import {
  capturingStdout,
  checkAnswer,
  expectNoOpenFiles,
  FORBIDDEN,
  fuzzRequests,
  invoke,
  loadHandler,
  logged,
  NAMES,
  ORIGIN,
  SECRET,
  SERVABLE,
  type FuzzRequest,
} from '../support/request-path-fuzz';
import { TAMPERS, tamperedQuery } from '../support/request-arbitraries';

/**
 * The request-path fuzz (test/support/request-path-fuzz.ts) on local disk: real files, with
 * forbidden ones outside the root, hidden, nested and behind a symlink out of the root.
 * FUZZ_RUNS raises the count for a longer local session; CI runs the default.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
const SIGNED_RUNS = Math.max(1_000, Math.floor(RUNS / 5));

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'fuzz-'));
  root = join(base, 'downloads');
  await mkdir(join(root, 'sub'), { recursive: true });
  for (const [name, bytes] of Object.entries(SERVABLE)) await writeFile(join(root, name), bytes);
  await writeFile(join(base, 'outside-secret.mp4'), FORBIDDEN);
  await writeFile(join(root, '.hidden.mp4'), FORBIDDEN);
  await writeFile(join(root, 'sub', 'nested.mp4'), FORBIDDEN);
  await symlink(join(base, 'outside-secret.mp4'), join(root, 'link-out.mp4'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const local = () => ({ STORAGE: 'local', DOWNLOADS_DIR: root });

describe('fuzzing the whole request path (public, CORS on, small windows)', () => {
  it(`answers ${RUNS} random requests with well-formed 2xx/3xx/4xx, exact bytes, nothing from outside the root`, async () => {
    const handler = await loadHandler({ ...local(), CORS_ORIGINS: ORIGIN, SIGNING_SECRET: '' });
    const seen = await fuzzRequests(handler, RUNS);
    // The generators reach every kind of answer; a fuzz that only ever saw 404s would prove little.
    for (const status of [200, 204, 206, 304, 400, 404, 405, 412, 413, 414, 416]) expect(seen.get(status) ?? 0, `answers with ${status}`).toBeGreaterThan(0);
    console.info('fuzz statuses', Object.fromEntries([...seen].sort(([a], [b]) => a - b)));
    await expectNoOpenFiles(base);
  }, 600_000);
});

describe('fuzzing signed links', () => {
  it(`gives 403, and the same 403, to every request whose signature is not exactly right (${SIGNED_RUNS} runs)`, async () => {
    const handler = await loadHandler({ ...local(), CORS_ORIGINS: '', SIGNING_SECRET: SECRET });
    const now = Math.floor(Date.now() / 1000);
    const target = fc.oneof(fc.constantFrom(...NAMES), fc.constantFrom('missing__9.mp4', 'link-out.mp4'));
    const tamper = fc.constantFrom(...TAMPERS);
    const signed = fc.record({ name: target, ttl: fc.integer({ min: 60, max: 86_400 }), tamper, method: fc.constantFrom('GET', 'HEAD'), at: fc.nat() });
    let forbidden: string | undefined;
    logged.length = 0;
    await capturingStdout(() => fc.assert(
      fc.asyncProperty(signed, async ({ name, ttl, tamper: how, method: m, at }) => {
        const q = tamperedQuery(SECRET, NAMES, name, now, ttl, how, at);
        const r: FuzzRequest = { format: 'url', method: m, path: `/api/stream/${encodeURIComponent(name)}`, query: q, headers: { range: 'bytes=0-99' } };
        const answer = await invoke(handler, r);
        if (how === 'none') {
          expect(answer.status).toBe(NAMES.includes(name) ? (SERVABLE[name]?.length === 0 ? 416 : 206) : 404);
        } else {
          expect(answer.status).toBe(403);
          // Byte for byte the same refusal whatever the file and the flaw: nothing to learn from it.
          if (m === 'GET') {
            forbidden ??= answer.body.toString();
            expect(answer.body.toString()).toBe(forbidden);
          }
        }
        checkAnswer(r, answer);
      }),
      { numRuns: SIGNED_RUNS },
    ));
    expect(forbidden).toBe('{"detail":"Enlace no válido o caducado"}');
    // And the CLI's own link format passes.
    const name = 'Canción ñ__2.webm';
    const ok = await capturingStdout(() => invoke(handler, { format: 'url', method: 'GET', path: `/api/stream/${encodeURIComponent(name)}`, query: signedQuery(name, SECRET, 60), headers: {} }));
    expect([ok.status, ok.body.equals(SERVABLE[name] ?? Buffer.alloc(1))]).toEqual([200, true]);
    await expectNoOpenFiles(base);
  }, 600_000);
});
