import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { FunctionError, Invocation, InvocationSink } from './invocation';
import { NODE22, RIC_BIN } from './ric';
import { RuntimeApi } from './runtime-api';
import { localIdentity } from './url-event';

/**
 * Runs a function as Lambda runs it: in runtime processes of AWS's runtime interface client
 * (aws-lambda-ric under Node.js 22), each with a Runtime API of its own (runtime-api.ts), each
 * serving one invocation at a time. Lambda adds environments as requests come in; here a fixed
 * number of processes starts at once, and requests queue while all are busy.
 *
 * - A process that dies is replaced; its invocation fails (a 502 if nothing was sent, a cut
 *   response otherwise). One whose init fails is retried with a growing delay, RESTART_LIMIT times.
 * - An invocation that overruns the function's timeout is cut and its process killed and replaced,
 *   as Lambda ends an environment whose invocation timed out.
 * - A client that goes away cancels its invocation: still queued, it is dropped; running, its
 *   response connection is cut (see RuntimeApi.cancel), and the process takes the next event.
 */

export interface PoolFunction {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface RuntimePoolOptions {
  /** How many runtime processes, i.e. invocations at once. */
  readonly size: number;
  readonly fn: PoolFunction;
  /** LAMBDA_TASK_ROOT: the folder of the built bundle, the runtime's working directory. */
  readonly taskRoot: string;
  /** _HANDLER, relative to the task root: `handlers/stream.handler`. */
  readonly handler: string;
  /** The function's environment; the variables Lambda sets for the runtime are added to it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: (message: string) => void;
  /** Where the runtime processes' stdout and stderr go; by default, this process's own. */
  readonly output?: (chunk: Buffer) => void;
  /** Node.js and the runtime client's bin: by default those local/ric installs. */
  readonly node?: string;
  readonly ric?: string;
}

/** Failed inits in a row after which a slot stops restarting (until recycle()). */
const RESTART_LIMIT = 5;
const RESTART_DELAY_MS = 500;
const RESTART_DELAY_MAX_MS = 8000;
/** Lambda's limit for the init phase; a longer function timeout applies if there is one. */
const INIT_TIMEOUT_MS = 10_000;
/** How long a stopped runtime process may take to exit before it is killed. */
const STOP_GRACE_MS = 5000;

interface Job {
  readonly requestId: string;
  readonly event: LambdaFunctionURLEvent;
  readonly sink: InvocationSink;
  queueTimer?: NodeJS.Timeout;
  worker?: Worker | undefined;
}

interface Slot {
  worker?: Worker | undefined;
  failures: number;
  restartTimer?: NodeJS.Timeout | undefined;
}

interface Worker {
  readonly slot: Slot;
  readonly api: RuntimeApi;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  started: boolean;
  exited: boolean;
  /** Stopped on purpose (recycled, timed out, pool stopping): its exit is not news. */
  expected: boolean;
  /** The bundle changed since it started: replaced once idle. */
  stale: boolean;
  initError?: FunctionError;
  job?: Job | undefined;
  deadline?: NodeJS.Timeout;
  settleReady(error?: Error): void;
}

export class RuntimePool {
  readonly #options: RuntimePoolOptions;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  #started = false;
  #stopping = false;

  private constructor(options: RuntimePoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.size }, () => ({ failures: 0 }));
  }

  /** Starts every runtime process and resolves once each waits for an event; rejects if one fails its init. */
  static async start(options: RuntimePoolOptions): Promise<RuntimePool> {
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new Error(`a runtime pool needs at least one process, not ${options.size}`);
    const pool = new RuntimePool(options);
    try {
      await Promise.all(pool.#slots.map(async (slot) => (await pool.#spawn(slot)).ready));
    } catch (error) {
      await pool.stop();
      throw error;
    }
    pool.#started = true;
    return pool;
  }

  /** The Invoke that url-server.ts's front end calls. */
  readonly invoke = (event: LambdaFunctionURLEvent, sink: InvocationSink): Invocation => {
    const job: Job = { requestId: randomUUID(), event, sink };
    if (this.#stopping || this.#slots.every((slot) => slot.worker === undefined && slot.restartTimer === undefined)) {
      sink.fail({ errorType: 'Local.NoRuntime', errorMessage: 'no runtime process is running (see the log)' });
      return { cancel: () => undefined };
    }
    // Bounded like an invocation: a request nobody takes up in that time is answered.
    job.queueTimer = setTimeout(() => {
      this.#unqueue(job);
      sink.fail({ errorType: 'Local.QueueTimeout', errorMessage: `no runtime process was free for ${this.#options.fn.timeoutSeconds} s` });
    }, this.#options.fn.timeoutSeconds * 1000);
    this.#queue.push(job);
    this.#dispatch();
    return {
      cancel: () => {
        if (job.worker !== undefined) {
          job.worker.api.cancel(job.requestId);
        } else if (this.#unqueue(job)) {
          sink.abort(null);
        }
      },
    };
  };

  /** The runtime processes' ids, for tests that count what they hold. */
  pids(): number[] {
    return this.#slots.flatMap((slot) => (slot.worker?.child.pid !== undefined && !slot.worker.exited ? [slot.worker.child.pid] : []));
  }

  /** The bundle was rebuilt: every process is replaced, an idle one now, a busy one when its invocation is over. */
  recycle(): void {
    for (const slot of this.#slots) {
      slot.failures = 0;
      const worker = slot.worker;
      if (worker === undefined) {
        if (slot.restartTimer === undefined) this.#launch(slot);
        continue;
      }
      worker.stale = true;
      if (worker.started && worker.job === undefined && worker.api.idle) this.#stopWorker(worker, 'SIGTERM');
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const job of this.#queue.splice(0)) {
      clearTimeout(job.queueTimer);
      job.sink.abort(null);
    }
    const workers = this.#slots.flatMap((slot) => {
      clearTimeout(slot.restartTimer);
      return slot.worker === undefined ? [] : [slot.worker];
    });
    await Promise.all(workers.map((worker) => this.#terminate(worker)));
  }

  async #spawn(slot: Slot): Promise<Worker> {
    const options = this.#options;
    let worker: Worker | undefined;
    const api = await RuntimeApi.start({
      onIdle: () => worker !== undefined && this.#onIdle(worker),
      onInitError: (error) => {
        if (worker !== undefined) worker.initError = error;
      },
    });
    const child = spawn(options.node ?? NODE22, [options.ric ?? RIC_BIN], {
      cwd: options.taskRoot,
      env: runtimeEnvironment(options, api.address),
      stdio: ['ignore', options.output ? 'pipe' : 'inherit', options.output ? 'pipe' : 'inherit'],
    });
    if (options.output !== undefined) {
      child.stdout?.on('data', options.output);
      child.stderr?.on('data', options.output);
    }
    let settleReady: (error?: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settleReady = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Rejections are for start(); later restarts report through the log.
    ready.catch(() => undefined);
    const created: Worker = { slot, api, child, ready, started: false, exited: false, expected: false, stale: false, settleReady };
    worker = created;
    slot.worker = created;
    const initTimer = setTimeout(() => {
      created.initError ??= { errorType: 'Runtime.InitTimeout', errorMessage: `init did not finish in ${this.#initTimeoutMs() / 1000} s` };
      child.kill('SIGKILL');
    }, this.#initTimeoutMs());
    const ended = (reason: string) => {
      clearTimeout(initTimer);
      this.#onExit(created, reason);
    };
    child.once('exit', (code, signal) => ended(signal === null ? `exit status ${code}` : `signal ${signal}`));
    // A spawn that fails (no such binary) emits 'error' and no 'exit'.
    child.once('error', (error) => {
      if (child.pid === undefined) ended(error.message);
    });
    void ready.then(
      () => clearTimeout(initTimer),
      () => undefined,
    );
    return created;
  }

  #initTimeoutMs(): number {
    return Math.max(INIT_TIMEOUT_MS, this.#options.fn.timeoutSeconds * 1000);
  }

  /** A replacement process, retried with a growing delay while its init keeps failing. */
  #launch(slot: Slot, delayMs = 0): void {
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.#stopping) return;
      this.#spawn(slot).catch((error: unknown) => {
        // Not even a Runtime API could start (no port): as good as a failed init.
        this.#options.log(
          `${this.#options.fn.name}: could not start a runtime process: ${error instanceof Error ? error.message : String(error)}`,
        );
        this.#restart(slot, true);
      });
    }, delayMs);
  }

  #restart(slot: Slot, initFailed: boolean): void {
    if (initFailed) slot.failures += 1;
    if (slot.failures >= RESTART_LIMIT) {
      this.#options.log(
        `${this.#options.fn.name}: ${slot.failures} runtime processes in a row failed their init; not starting more until the bundle changes`,
      );
      this.#failQueueIfNothingRuns();
      return;
    }
    this.#launch(slot, initFailed ? Math.min(RESTART_DELAY_MS * 2 ** (slot.failures - 1), RESTART_DELAY_MAX_MS) : 0);
  }

  #onIdle(worker: Worker): void {
    if (worker.exited || this.#stopping) return;
    if (!worker.started) {
      worker.started = true;
      worker.slot.failures = 0;
      worker.settleReady();
    }
    if (worker.stale) this.#stopWorker(worker, 'SIGTERM');
    else this.#dispatch();
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#slots.find(
        ({ worker: w }) => w !== undefined && w.started && !w.exited && !w.stale && w.job === undefined && w.api.idle,
      )?.worker;
      const job = worker === undefined ? undefined : this.#queue.shift();
      if (worker === undefined || job === undefined) return;
      this.#run(worker, job);
    }
  }

  #run(worker: Worker, job: Job): void {
    const { fn, log } = this.#options;
    clearTimeout(job.queueTimer);
    job.worker = worker;
    worker.job = job;
    const timeoutMs = fn.timeoutSeconds * 1000;
    worker.deadline = setTimeout(() => {
      log(`${fn.name}: Task timed out after ${fn.timeoutSeconds} seconds`);
      worker.api.abandon({ errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${fn.timeoutSeconds} seconds` }, true);
      this.#stopWorker(worker, 'SIGKILL');
    }, timeoutMs);
    const done = () => {
      clearTimeout(worker.deadline);
      if (worker.job === job) worker.job = undefined;
      this.#dispatch();
    };
    const { sink } = job;
    worker.api.invoke({
      requestId: job.requestId,
      event: job.event,
      deadlineMs: Date.now() + timeoutMs,
      functionArn: localIdentity(fn.name, fn.memoryMb).invokedFunctionArn,
      traceId: traceId(),
      sink: {
        write: (chunk, contentType, callback) => sink.write(chunk, contentType, callback),
        end: (contentType, callback) => {
          done();
          sink.end(contentType, callback);
        },
        fail: (error) => {
          done();
          sink.fail(error);
        },
        abort: (error) => {
          done();
          sink.abort(error);
        },
      },
    });
  }

  #onExit(worker: Worker, reason: string): void {
    if (worker.exited) return;
    worker.exited = true;
    clearTimeout(worker.deadline);
    const { fn, log } = this.#options;
    worker.api.abandon({ errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with ${reason}` }, false);
    void worker.api.close();
    if (!worker.started) {
      const cause = worker.initError === undefined ? '' : `: ${worker.initError.errorType}: ${worker.initError.errorMessage}`;
      worker.settleReady(new Error(`${fn.name}: the runtime process failed its init (${reason})${cause}`));
    }
    const { slot } = worker;
    if (slot.worker === worker) slot.worker = undefined;
    if (this.#stopping) return;
    if (!worker.expected) {
      const cause = worker.initError === undefined ? '' : ` after ${worker.initError.errorType}: ${worker.initError.errorMessage}`;
      log(`${fn.name}: runtime process ${worker.child.pid ?? '?'} exited with ${reason}${cause}`);
    }
    // During start() a failed init fails the start; after it, the slot gets a new process.
    if (this.#started) this.#restart(slot, !worker.started);
  }

  #stopWorker(worker: Worker, signal: NodeJS.Signals): void {
    worker.expected = true;
    worker.child.kill(signal);
  }

  async #terminate(worker: Worker): Promise<void> {
    if (worker.exited || worker.child.exitCode !== null || worker.child.signalCode !== null) {
      await worker.api.close();
      return;
    }
    const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()));
    this.#stopWorker(worker, 'SIGTERM');
    const kill = setTimeout(() => worker.child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(kill);
    await worker.api.close();
  }

  #unqueue(job: Job): boolean {
    const index = this.#queue.indexOf(job);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    clearTimeout(job.queueTimer);
    return true;
  }

  #failQueueIfNothingRuns(): void {
    if (this.#slots.some((slot) => slot.worker !== undefined || slot.restartTimer !== undefined)) return;
    for (const job of this.#queue.splice(0)) {
      clearTimeout(job.queueTimer);
      job.sink.fail({ errorType: 'Local.NoRuntime', errorMessage: 'no runtime process could start (see the log)' });
    }
  }
}

/**
 * The environment of one runtime process: the function's own variables and those Lambda sets for
 * the runtime (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, the function's identity).
 * Also what bench/groups/ric.ts starts its runtime processes with.
 */
export function runtimeEnvironment(
  options: Pick<RuntimePoolOptions, 'fn' | 'env' | 'handler' | 'taskRoot'>,
  runtimeApi: string,
): NodeJS.ProcessEnv {
  const { fn, env, handler, taskRoot } = options;
  const identity = localIdentity(fn.name, fn.memoryMb);
  const own = { ...env };
  // Multi-concurrency (Lambda Managed Instances) takes several events per process at once; this
  // Runtime API hands out one at a time, as Lambda does for a function of the nodejs22.x runtime.
  delete own.AWS_LAMBDA_MAX_CONCURRENCY;
  return {
    ...own,
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    _HANDLER: handler,
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_FUNCTION_NAME: identity.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: identity.functionVersion,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: identity.memoryLimitInMB,
    AWS_LAMBDA_LOG_GROUP_NAME: identity.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: identity.logStreamName,
  };
}

/** An X-Ray trace header of the shape Lambda sends (nothing here reads it; the runtime client passes it on). */
export function traceId(): string {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
