import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTool } from './tools';

/**
 * One nginx for a test, all of it in a temp folder of its own: configuration, pid file, logs,
 * temp files and cache. It listens on a Unix socket in that folder rather than a TCP port: nothing
 * can take the address between choosing it and nginx binding it (other engineers' tests share the
 * machine), and nothing outside the machine can reach it. Started in the foreground as a child of
 * the test process and stopped with `nginx -s quit`, which signals the master named in its own pid
 * file; only if that fails in time are the master and its workers killed, by their pids.
 */
export interface Nginx {
  /** The socket nginx listens on (http.request's socketPath). */
  readonly socket: string;
  readonly dir: string;
  /** The access log's lines so far (the format is the configuration's). */
  accessLog(): Promise<string[]>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

export const NGINX = '/usr/sbin/nginx';

/** What the configuration needs to know of the folder nginx runs in. */
export interface NginxPaths {
  readonly dir: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly accessLog: string;
  readonly errorLog: string;
  readonly cache: string;
  readonly temp: string;
  /**
   * `user …;` when the tests run as root: nginx's workers would otherwise run as nobody, who
   * cannot write to a temp folder made 0700 by root. Empty otherwise (nginx ignores it then).
   */
  readonly userDirective: string;
}

const live = new Set<ChildProcess>();
let exitHook = false;

export async function startNginx(config: (paths: NginxPaths) => string, timeoutMs = 15_000): Promise<Nginx> {
  requireTool(NGINX, 'nginx-light');
  const dir = await mkdtemp(join(tmpdir(), 'nginx-stand-in-'));
  const paths: NginxPaths = {
    dir,
    socket: join(dir, 'nginx.sock'),
    pidFile: join(dir, 'nginx.pid'),
    accessLog: join(dir, 'access.log'),
    errorLog: join(dir, 'error.log'),
    cache: join(dir, 'cache'),
    temp: join(dir, 'temp'),
    userDirective: process.getuid?.() === 0 ? `user ${userInfo().username};` : '',
  };
  await mkdir(paths.cache);
  await mkdir(paths.temp);
  const confFile = join(dir, 'nginx.conf');
  await writeFile(confFile, config(paths));
  // -e: the error log from the first line on (the Debian build's default is stderr, before the configuration is read).
  const args = ['-p', dir, '-c', confFile, '-e', paths.errorLog];
  const child = spawn(NGINX, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  installExitHook();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => live.delete(child));

  const errorLog = async () => `${stderr}${await readFile(paths.errorLog, 'utf8').catch(() => '')}`;
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // The master's workers first (by pid, from /proc): they would outlive a killed master.
    for (const pid of childrenOf(child.pid)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000)]);
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // Graceful: the master finishes what is in flight and removes its pid file and socket.
        spawnSync(NGINX, [...args, '-s', 'quit'], { stdio: 'ignore', timeout: 5_000 });
        await Promise.race([exited, sleep(10_000)]);
        await kill();
      }
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited at start:\n${await errorLog()}`);
      if (existsSync(paths.socket) && (await accepts(paths.socket))) break;
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${paths.socket} within ${timeoutMs} ms:\n${await errorLog()}`);
      await sleep(50);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    socket: paths.socket,
    dir,
    accessLog: async () => (await readFile(paths.accessLog, 'utf8').catch(() => '')).split('\n').filter((line) => line !== ''),
    errorLog,
    stop,
  };
}

function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = connect(socket);
    const done = (ok: boolean) => {
      connection.destroy();
      resolve(ok);
    };
    connection.once('connect', () => done(true));
    connection.once('error', () => done(false));
    connection.setTimeout(1_000, () => done(false));
  });
}

/** The pids of a process's children (/proc/<pid>/task/<pid>/children, Linux). */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A test process that exits without stop() (a crash, a timeout) takes its nginx along. */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const child of live) {
      for (const pid of childrenOf(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    }
  });
}
