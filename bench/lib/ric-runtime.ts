import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { FunctionError } from '../../local/invocation';
import { NODE22, RIC_BIN } from '../../local/ric';
import { RuntimeApi } from '../../local/runtime-api';
import { runtimeEnvironment, traceId, type PoolFunction } from '../../local/runtime-pool';
import { localIdentity } from '../../local/url-event';
import { CountingSink } from './handler-io';

/**
 * One Lambda execution environment for the bench's `ric` rows: an aws-lambda-ric process under
 * Node.js 22 (local/ric) with a Runtime API of its own (local/runtime-api.ts), as
 * local/runtime-pool.ts starts them, but driven one invocation at a time by the bench so that each
 * can be timed from the moment /next hands out its event to the end of the response POST. CPU time
 * is read from /proc for the whole process (all its threads, libuv's pool and the addon's included).
 */

export interface RicFunction {
  readonly fn: PoolFunction;
  /** LAMBDA_TASK_ROOT: the folder with the bundle; `handler` is `<module>.<export>` relative to it. */
  readonly taskRoot: string;
  readonly handler: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the runtime's stdout and stderr go (a file descriptor: an access log file). */
  readonly output: number | 'ignore';
  /** Extra node flags (NODE_OPTIONS), e.g. --cpu-prof --cpu-prof-dir=DIR. */
  readonly nodeOptions?: string;
  /** A command the runtime runs under, e.g. valgrind --tool=callgrind (its pid must be the runtime's). */
  readonly wrapper?: readonly string[];
}

/** One invocation as the Runtime API saw it. */
export interface Invoked {
  /** From answering /next with the event to the end of the response POST. */
  readonly ms: number;
  readonly status: number;
  readonly bytes: number;
}

/** CPU time of a process so far: every thread's from schedstat (ns), and utime+stime (clock ticks) as a check. */
export interface CpuTime {
  readonly ns: number;
  readonly ticks: number;
}

const TICK_NS = 1e7; // USER_HZ = 100 on Linux
const INIT_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;

export function processCpu(pid: number): CpuTime {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat, 11 and 12 after the command.
  return { ns, ticks: Number(fields[11]) + Number(fields[12]) };
}

export function cpuMs(before: CpuTime, after: CpuTime): { schedMs: number; ticksMs: number } {
  return { schedMs: (after.ns - before.ns) / 1e6, ticksMs: ((after.ticks - before.ticks) * TICK_NS) / 1e6 };
}

export class RicRuntime {
  readonly #api: RuntimeApi;
  readonly #child: ChildProcess;
  readonly #fn: PoolFunction;
  #idle: (() => void) | undefined;
  #exited = false;

  private constructor(api: RuntimeApi, child: ChildProcess, fn: PoolFunction) {
    this.#api = api;
    this.#child = child;
    this.#fn = fn;
  }

  static async start(options: RicFunction): Promise<RicRuntime> {
    let runtime: RicRuntime | undefined;
    let initError: FunctionError | undefined;
    let ready: () => void = () => undefined;
    const api = await RuntimeApi.start({
      onIdle: () => {
        ready();
        if (runtime !== undefined) runtime.#idle?.();
      },
      onInitError: (error) => (initError = error),
    });
    const env = runtimeEnvironment(options, api.address);
    if (options.nodeOptions !== undefined) env.NODE_OPTIONS = options.nodeOptions;
    const [command, ...args] = [...(options.wrapper ?? []), NODE22, RIC_BIN];
    const child = spawn(command!, args, { cwd: options.taskRoot, env, stdio: ['ignore', options.output, options.output] });
    runtime = new RicRuntime(api, child, options.fn);
    const started = runtime;
    child.once('exit', () => (started.#exited = true));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${options.fn.name}: init did not finish in ${INIT_TIMEOUT_MS / 1000} s`)), INIT_TIMEOUT_MS);
        ready = () => {
          clearTimeout(timer);
          resolve();
        };
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          const cause = initError === undefined ? '' : `: ${initError.errorType}: ${initError.errorMessage}`;
          reject(new Error(`${options.fn.name}: the runtime process exited during init (${signal ?? code})${cause}`));
        });
      });
    } catch (error) {
      await started.stop();
      throw error;
    }
    ready = () => undefined;
    return started;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  cpu(): CpuTime {
    return processCpu(this.pid);
  }

  /** Resolves once the runtime waits in /next with nothing open. */
  whenIdle(): Promise<void> {
    if (this.#api.idle) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = () => {
        if (!this.#api.idle) return;
        this.#idle = undefined;
        resolve();
      };
    });
  }

  /** One invocation, once the runtime is idle; rejects if it fails, is cut, or takes longer than the function's timeout. */
  async invoke(event: LambdaFunctionURLEvent): Promise<Invoked> {
    if (this.#exited) throw new Error(`${this.#fn.name}: the runtime process has exited`);
    await this.whenIdle();
    const counted = new CountingSink();
    return new Promise<Invoked>((resolve, reject) => {
      const timeoutMs = this.#fn.timeoutSeconds * 1000;
      const timer = setTimeout(() => {
        this.#api.abandon({ errorType: 'Sandbox.Timedout', errorMessage: 'timed out' }, true);
        reject(new Error(`${this.#fn.name}: no answer in ${this.#fn.timeoutSeconds} s`));
      }, timeoutMs);
      const started = performance.now();
      this.#api.invoke({
        requestId: randomUUID(),
        event,
        deadlineMs: Date.now() + timeoutMs,
        functionArn: localIdentity(this.#fn.name, this.#fn.memoryMb).invokedFunctionArn,
        traceId: traceId(),
        sink: {
          write: (chunk, contentType, done) => counted.write(chunk, contentType, done),
          end: (contentType, done) => {
            const ms = performance.now() - started;
            clearTimeout(timer);
            counted.end(contentType, done);
            resolve({ ms, status: counted.status, bytes: counted.bytes });
          },
          fail: (error) => {
            clearTimeout(timer);
            reject(new Error(`${this.#fn.name}: the invocation failed: ${error.errorType}: ${error.errorMessage}`));
          },
          abort: () => {
            clearTimeout(timer);
            reject(new Error(`${this.#fn.name}: the invocation was cut`));
          },
        },
      });
    });
  }

  /**
   * Closes the Runtime API: the runtime's /next fails and it exits on its own (so that --cpu-prof
   * writes its profile); killed if it has not after a grace period.
   */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#exited || this.#child.exitCode !== null || this.#child.signalCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    await this.#api.close();
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(kill);
  }
}
