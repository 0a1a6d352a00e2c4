import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { STREAM_PREFIX } from '../../core/route';
import { spawnChild, stopChild, waitForOutput, type Cleanup } from './cleanup';

const execFileAsync = promisify(execFile);

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NGINX = '/usr/sbin/nginx';

/** A server of the HTTP rows, in its own process, serving the bench dir at /api/stream/. */
export interface RunningServer {
  readonly name: string;
  readonly url: string;
  /** The process that serves (whose memory the memory rows read). */
  readonly pid: number;
  stop(): Promise<void>;
}

export function streamUrl(server: RunningServer, fileName: string): string {
  return `${server.url}${STREAM_PREFIX}${encodeURIComponent(fileName)}`;
}

const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

/** Extra node flags for the Node.js servers (e.g. --cpu-prof --cpu-prof-dir=DIR), from run.ts. */
export const serverNodeFlags: string[] = [];

/**
 * What `npm start` runs (`serverless offline` with the Function URL plugin), on free ports, spawned
 * as test/support/offline-server.ts does: node directly (not npm), so that `pid` is the process that
 * serves. Stopped with SIGINT, as Ctrl-C stops `npm start`.
 */
export async function startOurs(cleanup: Cleanup, dir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const child = spawnChild(cleanup, 'serverless offline', process.execPath, [...serverNodeFlags, SERVERLESS, 'offline'], {
    stdio: ['ignore', accessLogFile(cleanup, 'ours'), 'pipe'],
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', OFFLINE_LAMBDA_PORT: '0', DOWNLOADS_DIR: dir, STORAGE: 'local', ...env },
  });
  const match = await waitForOutput(child, /offline-url: \S+ listening on (http:\/\/\S+)/, 120_000, 'serverless offline');
  return { name: 'ours', url: match[1]!, pid: child.pid!, stop: () => stopChild(child, 'SIGINT', 15_000) };
}

/**
 * Where a server of ours writes its access log (one JSON line per request, on stdout): a file, as
 * a log agent that keeps up would take it. Not a pipe to this process: Node.js writes to pipes
 * synchronously, and the bench process, busy being the load's client, would drain it late and
 * block the server it measures. Ready lines are read from stderr.
 */
export function accessLogFile(cleanup: Cleanup, name: string): number {
  const path = join(tmpdir(), `video-stream-bench-${process.pid}-${name}-access.log`);
  const fd = openSync(path, 'w');
  cleanup.add(`${name} access log`, () => {
    closeSync(fd);
    rmSync(path, { force: true });
  });
  return fd;
}

/** Express 5 + send, in its own Node.js process. */
export async function startExpress(cleanup: Cleanup, dir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const child = spawnChild(cleanup, 'express+send', process.execPath, [...serverNodeFlags, '--import', 'tsx', join(PROJECT_ROOT, 'bench', 'peers', 'express-server.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BENCH_DIR: dir, PORT: '0', HOST: '127.0.0.1', ...env },
  });
  const match = await waitForOutput(child, /express-send listening on (http:\/\/\S+)/, 30_000, 'express+send');
  return { name: 'express+send', url: match[1]!, pid: child.pid!, stop: () => stopChild(child) };
}

/**
 * The serving path of `npm start` without the serverless framework around it (memory rows only):
 * bench/peers/lean-url-server.ts bundled with esbuild as serverless-esbuild bundles the handler, and
 * run by plain node (no tsx, whose loader thread would count too).
 */
export async function startLean(cleanup: Cleanup, dir: string, workDir: string): Promise<RunningServer> {
  const outfile = join(workDir, 'lean-url-server.mjs');
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bench', 'peers', 'lean-url-server.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@aws-sdk/*', '@smithy/*'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  const child = spawnChild(cleanup, 'lean url server', process.execPath, [...serverNodeFlags, outfile], {
    stdio: ['ignore', accessLogFile(cleanup, 'lean'), 'pipe'],
    cwd: PROJECT_ROOT,
    env: { ...process.env, DOWNLOADS_DIR: dir, PORT: '0', HOST: '127.0.0.1' },
  });
  const match = await waitForOutput(child, /lean-url-server listening on (http:\/\/\S+)/, 30_000, 'lean url server');
  return { name: 'lean', url: match[1]!, pid: child.pid!, stop: () => stopChild(child) };
}

/**
 * Installs nginx with apt-get if it is missing (Debian's nginx-light; `apt-get update` only if the
 * install fails without it). Needs root, as on the project's machines and CI.
 */
export async function ensureNginx(log: (m: string) => void): Promise<void> {
  if (existsSync(NGINX)) return;
  const install = async () => {
    log('nginx missing: apt-get install -y nginx-light');
    await execFileAsync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx-light'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  };
  try {
    await install();
  } catch {
    log('install failed: apt-get update, then again');
    await execFileAsync('apt-get', ['update', '-qq'], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    await install();
  }
  if (!existsSync(NGINX)) throw new Error(`apt-get installed nginx-light but ${NGINX} is missing`);
}

/**
 * nginx as a foreground child (no daemon, no master: the one process serves), sendfile on, with
 * its config, pid, logs and temp paths in `workDir`, serving `dir` at /api/stream/.
 */
export async function startNginx(cleanup: Cleanup, dir: string, workDir: string): Promise<RunningServer> {
  await mkdir(workDir, { recursive: true });
  const port = await freePort();
  const temp = (name: string) => join(workDir, name);
  const config = `
daemon off;
master_process off;
worker_processes 1;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  types { video/mp4 mp4; video/webm webm; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    location ${STREAM_PREFIX} {
      alias ${dir}/;
    }
  }
}
`;
  const configPath = temp('nginx.conf');
  await writeFile(configPath, config);
  const child = spawnChild(cleanup, 'nginx', NGINX, ['-p', workDir, '-c', configPath, '-e', temp('error.log')], { cwd: workDir });
  child.stdout?.resume();
  child.stderr?.resume();
  await waitForPort(port, 10_000, () => child.exitCode !== null);
  return { name: 'nginx', url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`server on port ${port} exited before it listened`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
