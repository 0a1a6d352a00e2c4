import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { decodeRuntimeBytes } from '../../local/lambda-runtime';
import { RuntimePool, type RuntimePoolOptions } from '../../local/runtime-pool';
import { EVENTS_DIR, PROJECT_ROOT } from '../support/paths';
import { bundleForRuntime } from './bundle';
import { reach, type Reached } from './recording-sink';

/** The pool of aws-lambda-ric processes: one invocation per process, queueing, deaths, timeouts, clients gone. */

const event = JSON.parse(readFileSync(join(EVENTS_DIR, 'range.json'), 'utf8')) as LambdaFunctionURLEvent;
let bundle: Awaited<ReturnType<typeof bundleForRuntime>>;
const pools: RuntimePool[] = [];
const logs: string[] = [];

beforeAll(async () => {
  bundle = await bundleForRuntime('pool-handlers');
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.stop()));
  logs.length = 0;
});
afterAll(() => bundle.remove());

async function start(handler: string, options: Partial<RuntimePoolOptions> = {}): Promise<RuntimePool> {
  const pool = await RuntimePool.start({
    size: 1,
    fn: { name: 'pool', timeoutSeconds: 2, memoryMb: 128 },
    taskRoot: bundle.taskRoot,
    handler: `pool-handlers.${handler}`,
    env: process.env,
    log: (message) => logs.push(message),
    output: () => undefined,
    ...options,
  });
  pools.push(pool);
  return pool;
}

const json = (reached: Reached) =>
  JSON.parse(decodeRuntimeBytes(reached.bytes, reached.contentType).body.toString('utf8')) as Record<string, number>;
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(50);
  return condition();
}

describe('the runtime pool', () => {
  it('runs one invocation per process at a time, and queues the rest', async () => {
    const pool = await start('slow', { size: 2 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => reach(pool.invoke, event).reached));
    const runs = answers.map((answer) => json(answer));
    expect(answers.every((answer) => answer.ending === 'end')).toBe(true);
    expect(new Set(runs.map((run) => run.pid))).toEqual(new Set(pool.pids()));
    // No process ever ran two at once, and at no moment (a run's start) did more than two run.
    for (const run of runs) {
      expect(runs.filter((other) => other.pid === run.pid && other.started! < run.ended! && other.ended! > run.started!)).toEqual([run]);
      expect(runs.filter((other) => other.started! <= run.started! && other.ended! > run.started!).length).toBeLessThanOrEqual(2);
    }
    // Six runs of 300 ms on two processes: three rounds, not six.
    expect(Math.max(...runs.map((run) => run.ended!)) - Math.min(...runs.map((run) => run.started!))).toBeLessThan(6 * 300);
  });

  it('replaces a process that dies mid-invocation, whose invocation fails', async () => {
    const pool = await start('exits');
    const [before] = pool.pids();
    const answer = await reach(pool.invoke, event).reached;
    expect(answer).toMatchObject({
      ending: 'fail',
      error: { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with exit status 3' },
    });
    expect(await until(() => pool.pids().length === 1 && pool.pids()[0] !== before, 10_000)).toBe(true);
    expect(logs.join('\n')).toContain('exited with exit status 3');
    // The replacement serves (and dies) like the first.
    expect((await reach(pool.invoke, event).reached).ending).toBe('fail');
  });

  it('cuts an invocation past the timeout and replaces its process', async () => {
    const pool = await start('neverEnds', { fn: { name: 'pool', timeoutSeconds: 1, memoryMb: 128 } });
    const [before] = pool.pids();
    const started = performance.now();
    const answer = await reach(pool.invoke, event).reached;
    expect(answer.ending).toBe('cut');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(logs).toContain('pool: Task timed out after 1 seconds');
    expect(before !== undefined && (await until(() => !alive(before), 5000))).toBe(true);
    expect(await until(() => pool.pids().length === 1, 10_000)).toBe(true);
  });

  it('lets a running invocation whose client has gone run to its end, as Lambda does, in the same process', async () => {
    const mark = join(bundle.taskRoot, 'ran-to-the-end');
    const pool = await start('runsOn', { env: { ...process.env, POOL_MARK: mark } });
    const [pid] = pool.pids();
    const running = reach(pool.invoke, event);
    await sleep(200);
    running.cancel();
    expect(existsSync(mark)).toBe(false);
    expect(await until(() => existsSync(mark), 5000)).toBe(true);
    expect(readFileSync(mark, 'utf8')).toBe(String(pid));
    // It served its invocation to the end (the sink still sees it), and serves the next.
    expect((await running.reached).ending).toBe('end');
    await rm(mark);
    expect((await reach(pool.invoke, event).reached).ending).toBe('end');
    expect(pool.pids()).toEqual([pid]);
  });

  it('drops a queued invocation whose client has gone without running it', async () => {
    const pool = await start('slow');
    const first = reach(pool.invoke, event);
    const queued = reach(pool.invoke, event);
    queued.cancel();
    expect((await queued.reached).ending).toBe('cut');
    const third = json(await reach(pool.invoke, event).reached);
    // The third ran right after the first: the dropped one never took a turn.
    expect(third.started! - json(await first.reached).ended!).toBeLessThan(250);
  });

  it('fails start() with the runtime client’s init error', async () => {
    await expect(start('noSuchExport')).rejects.toThrow(
      /failed its init .*Runtime\.HandlerNotFound: pool-handlers\.noSuchExport is undefined or not exported/,
    );
  });

  it('stops restarting after repeated failed inits, answers at once, and comes back when recycled', async () => {
    const broken = join(bundle.taskRoot, 'break-init');
    const pool = await start('whoAmI', { env: { ...process.env, POOL_BREAK_INIT: broken } });
    await writeFile(broken, '');
    pool.recycle();
    // 5 failed inits with delays of 0.5, 1, 2 and 4 s between them.
    expect(await until(() => logs.some((line) => line.includes('failed their init')), 15_000)).toBe(true);
    expect(logs.filter((line) => line.includes('init broken on purpose')).length).toBe(5);
    const started = performance.now();
    expect(await reach(pool.invoke, event).reached).toMatchObject({ ending: 'fail', error: { errorType: 'Local.NoRuntime' } });
    expect(performance.now() - started).toBeLessThan(100);
    await rm(broken);
    pool.recycle();
    expect(await until(() => pool.pids().length === 1, 10_000)).toBe(true);
    expect((await reach(pool.invoke, event).reached).ending).toBe('end');
  }, 30_000);

  it('stop() ends every runtime process', async () => {
    const pool = await start('whoAmI', { size: 3 });
    const pids = pool.pids();
    expect(pids.every(alive)).toBe(true);
    await pool.stop();
    expect(pids.some(alive)).toBe(false);
  });

  it('leaves no runtime process behind when the process that runs the pool is killed', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'test', 'ric', 'orphan-child.ts'), bundle.taskRoot, 'pool-handlers.whoAmI'],
      {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const pids = await new Promise<number[]>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as number[]));
        child.once('exit', (code) => reject(new Error(`orphan-child exited with ${code}`)));
      });
      expect(pids.length).toBe(2);
      expect(pids.every(alive)).toBe(true);
      child.kill('SIGKILL');
      // Their Runtime API is gone with it: the runtime client's next /next fails and it exits.
      expect(await until(() => !pids.some(alive), 10_000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
