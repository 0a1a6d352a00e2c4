import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Everything a run acquires (child processes, temp dirs) is registered here and released in reverse
 * order at the end, on an error, and on SIGINT/SIGTERM.
 */
export class Cleanup {
  readonly #steps: { name: string; run: () => Promise<void> | void }[] = [];
  #done = false;

  add(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const step = { name, run };
    this.#steps.push(step);
    // Running a step early removes it from the list.
    return async () => {
      const index = this.#steps.indexOf(step);
      if (index < 0) return;
      this.#steps.splice(index, 1);
      await step.run();
    };
  }

  async runAll(log: (m: string) => void = () => undefined): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await withTimeout(Promise.resolve(step.run()), 15_000, `cleanup ${step.name}`);
      } catch (error) {
        log(`cleanup of ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A child process that is SIGTERM'ed (then SIGKILL'ed) by its pid when the run ends. */
export function spawnChild(cleanup: Cleanup, name: string, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  // A child that failed to spawn emits 'error'; waitForOutput then sees it exit.
  child.once('error', () => undefined);
  cleanup.add(name, () => stopChild(child, 'SIGINT', 15_000));
  return child;
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** Resolves with the first match of `ready` in the child's output; rejects on exit or timeout. */
export function waitForOutput(child: ChildProcess, ready: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what} not ready in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 100_000) output = output.slice(-50_000);
      const match = ready.exec(output);
      if (match) finish(undefined, match);
    };
    const onExit = (code: number | null) => finish(new Error(`${what} exited with ${code}:\n${output}`));
    function finish(error?: Error, match?: RegExpExecArray) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining the pipes so that the child never blocks on a full one.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) reject(error);
      else resolve(match!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
