import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths';

/** What the function printed in its process's life, once it has ended. */
export interface HandlerOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export interface HandlerProcess {
  readonly url: string;
  /** Stops listening, waits for the process to end by itself (every invocation done) and gives its output. */
  stop(): Promise<HandlerOutput>;
}

const CHILD = join(PROJECT_ROOT, 'test', 'support', 'handler-process-child.ts');
const START_MS = 30_000;
const END_MS = 10_000;

/**
 * The real handler (handlers/stream.ts) behind local/url-server.ts, the serving path of `npm start`
 * without osls, in a Node.js process of its own started with exactly `env` (no setting of this
 * process leaks in): its init is a cold start with that configuration, and everything it writes to
 * stdout and stderr is kept. The local backend unless `env` says otherwise.
 */
export async function startHandlerProcess(env: Record<string, string>): Promise<HandlerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', STORAGE: 'local', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  // The exit, and stdout and stderr closed with their last bytes given. (Not the child's own
  // 'close' event: it never came here once the IPC channel had been disconnected.)
  const closed = (stream: NodeJS.ReadableStream | null) =>
    new Promise<void>((resolve) => (stream === null ? resolve() : stream.once('close', () => resolve())));
  const exited = Promise.all([
    new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
    closed(child.stdout),
    closed(child.stderr),
  ]).then(([code]) => code);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the handler process did not start in ${START_MS} ms:\n${stderr}`));
    }, START_MS);
    child.once('message', (message: { url?: unknown }) => {
      clearTimeout(timer);
      if (typeof message.url === 'string') resolve(message.url);
      else reject(new Error(`unexpected message from the handler process: ${JSON.stringify(message)}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the handler process exited with ${code} before listening:\n${stderr}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.connected) child.disconnect();
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, END_MS);
      const code = await exited;
      clearTimeout(timer);
      // An end that had to be forced means something the function started never finished.
      if (killed || code !== 0) throw new Error(`the handler process ended ${killed ? 'only when killed' : `with ${code}`}:\n${stderr}`);
      return { stdout, stderr };
    },
  };
}
