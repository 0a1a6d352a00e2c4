import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installRuntimeGlobal, isStreamingHandler } from '../../local/lambda-runtime';
import { startUrlServer, type RunningUrlServer } from '../../local/url-server';
import { PROJECT_ROOT } from '../support/paths';

/**
 * scripts/check-cdn.sh is for a live distribution, which the tests cannot have. Here it runs
 * against stand-ins: the real handler (local disk, signed links on) behind a proxy that adds
 * CloudFront's X-Cache (Miss the first time a path and range are seen, Hit after), and the same
 * with one fault each, which the script must catch.
 */
const SCRIPT = join(PROJECT_ROOT, 'scripts', 'check-cdn.sh');
const SECRET = 'a-test-secret-of-more-than-32-characters';
const NAME = 'Vídeo de prueba__6f1c2a9e-3b7d-4e58-9a0c-2d4b8e7f1a35.mp4';

interface Fault {
  neverHit?: boolean;
  dropRange?: boolean;
  status?: number; // answer everything with this status (an AWS_IAM Function URL's 403)
}
let dir: string;
let fn: RunningUrlServer;
const servers: Server[] = [];
/** A CloudFront stand-in in front of the handler, with `fault`; its base URL. */
async function distribution(fault: Fault = {}): Promise<string> {
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    if (fault.status) {
      res.writeHead(fault.status, { 'content-type': 'application/json' }).end('{"Message":"Forbidden"}');
      return;
    }
    const headers = { ...req.headers };
    if (fault.dropRange) delete headers.range;
    const key = `${req.method} ${req.url} ${headers.range ?? ''}`;
    const upstream = request(new URL(req.url ?? '/', fn.url), { method: req.method, headers }, (answer) => {
      const cached = seen.has(key) && !fault.neverHit;
      seen.add(key);
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-cache': cached ? 'Hit from cloudfront' : 'Miss from cloudfront' });
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const check = (args: string[], secret?: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SIGNING_SECRET;
    if (secret) env.SIGNING_SECRET = secret;
    execFile('bash', [SCRIPT, ...args], { env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'check-cdn-'));
  await writeFile(join(dir, NAME), randomBytes(5000));
  Object.assign(process.env, { STORAGE: 'local', DOWNLOADS_DIR: dir, SIGNING_SECRET: SECRET, ACCESS_LOG: 'off' });
  installRuntimeGlobal();
  const { handler } = (await import('../../handlers/stream')) as { handler?: unknown };
  if (!isStreamingHandler(handler)) throw new Error('handlers/stream.ts does not export a streaming handler');
  fn = await startUrlServer({ port: 0, fn: { name: 'stream', handler, timeoutSeconds: 30, memoryMb: 512 }, log: () => {} });
});
afterAll(async () => {
  for (const server of servers) server.close();
  await fn?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('scripts/check-cdn.sh', () => {
  it('is valid bash', async () => {
    await new Promise<void>((resolve, reject) => execFile('bash', ['-n', SCRIPT], (error) => (error ? reject(error) : resolve())));
  });

  it('passes a distribution that keeps the contract: ranges, cache hits, errors, signed links, a closed Function URL', async () => {
    const { code, output } = await check([await distribution(), NAME, '--function-url', await distribution({ status: 403 })], SECRET);
    expect(output).toMatch(/ok {3}- X-Cache: Hit from cloudfront \(request 2\)/);
    expect(output).toMatch(/ok {3}- an unsigned link: 403/);
    expect(output).toMatch(/ok {3}- a forged signature: 403/);
    expect(output).toMatch(/ok {3}- the Function URL without the distribution: 403/);
    expect(output).not.toMatch(/FAIL/);
    expect(output).toMatch(/all checks passed/);
    expect(code).toBe(0);
  }, 90_000);

  it('fails when nothing is ever a cache hit', async () => {
    const { code, output } = await check([await distribution({ neverHit: true }), NAME], SECRET);
    expect(output).toMatch(/FAIL - X-Cache never says Hit after 5 requests/);
    expect(code).toBe(1);
  }, 90_000);

  it('fails when ranges are ignored', async () => {
    const { code, output } = await check([await distribution({ dropRange: true }), NAME], SECRET);
    expect(output).toMatch(/FAIL - Range bytes=0-1: expected 206, got 200/);
    expect(output).toMatch(/FAIL - Range bytes=5000- \(past the end\): expected 416, got 200/);
    expect(code).toBe(1);
  }, 90_000);

  it('fails when the Function URL answers without the distribution', async () => {
    const { code, output } = await check([await distribution(), NAME, '--function-url', fn.url], SECRET);
    expect(output).toMatch(/FAIL - the Function URL without the distribution: expected 403, got 200/);
    expect(code).toBe(1);
  }, 90_000);

  it('says so when the distribution wants signed links and no secret was given, and refuses bad usage', async () => {
    const { code, output } = await check([await distribution(), NAME]);
    expect(output).toMatch(/wants signed links: run with SIGNING_SECRET set/);
    expect(code).toBe(1);
    expect((await check([])).code).toBe(2);
  }, 90_000);
});
