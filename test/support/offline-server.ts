import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths';

export interface OfflineServer {
  readonly url: string;
  readonly pid: number;
  readonly output: () => string;
  stop(): Promise<void>;
}

const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
let instances = 0;
const READY = /offline-url: \S+ listening on (http:\/\/\S+)/;

/**
 * Runs what `npm start` runs (`serverless offline`), on free ports, serving `downloadsDir`. Node is
 * spawned directly (not through npm) so that `pid` is the process that serves, whose descriptors
 * and I/O counters the tests read.
 */
export async function startOffline(
  downloadsDir: string,
  env: Record<string, string> = {},
  options: { timeoutMs?: number; logFile?: string } = {},
): Promise<OfflineServer> {
  // Seven servers build and start at once in the http project, on two cores that other work may
  // share; under LAMBDA_RUNTIME=ric each also starts its runtime processes.
  const timeoutMs = options.timeoutMs ?? 120_000;
  // A build folder of its own: servers started one after the other must not rebuild (and so
  // reload) each other's bundles.
  const workFolder = `.esbuild-test-${process.pid}-${(instances += 1)}`;
  const child: ChildProcess = spawn(process.execPath, [SERVERLESS, 'offline'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', OFFLINE_LAMBDA_PORT: '0', DOWNLOADS_DIR: downloadsDir, ESBUILD_WORK_FOLDER: workFolder, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: nothing would stop it (its runtime processes, if any, exit with it).
      child.kill('SIGKILL');
      reject(new Error(`serverless offline did not start in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    // Stays attached after the ready line: `output` and the log file keep everything printed.
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.logFile !== undefined) appendLog(options.logFile, chunk);
      const match = READY.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serverless offline exited with ${code}:\n${output}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('no pid');
  return {
    url,
    pid,
    output: () => output,
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGINT');
      });
      await rm(join(PROJECT_ROOT, workFolder), { recursive: true, force: true });
    },
  };
}

/** After a failed start the setup removes the log folder while the server may still print. */
function appendLog(file: string, chunk: Buffer): void {
  try {
    appendFileSync(file, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
