import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { Invoke } from '../../local/invocation';
import {
  decodeRuntimeBytes,
  DELIMITER_LENGTH,
  installRuntimeGlobal,
  isStreamingHandler,
  PRELUDE_CONTENT_TYPE,
} from '../../local/lambda-runtime';
import { RuntimePool } from '../../local/runtime-pool';
import { emulatedInvoke, startFunctionUrl, type RunningUrlServer } from '../../local/url-server';
import { EVENTS_DIR, PROJECT_ROOT } from '../support/paths';
import { bundleForRuntime } from './bundle';
import { reach, type Reached } from './recording-sink';

/**
 * The same handlers, from the same bundle, under the emulation (local/lambda-runtime.ts, in this
 * process) and under AWS's runtime client (aws-lambda-ric, Node.js 22, behind local/runtime-api.ts),
 * compared at two places:
 * - what reaches the front end from the runtime: the content type the runtime declared, every body
 *   byte, and how the answer ended (end, error trailers with their type and message, or cut);
 * - what reaches an HTTP client through the Function URL front end: status, headers, body, and
 *   whether the response was complete.
 * Known differences are listed with their reason (DIFFERENCES) and asserted to be exactly those,
 * so that the README and local/ric/CONFORMANCE.md cannot go stale. CONFORMANCE_TABLE=<file>
 * writes the table there.
 */

const TIMEOUT_SECONDS = 2;
const WAIT_MS = 10_000;

interface Variant {
  readonly label: string;
  /** An export of test/ric/handlers.ts. */
  readonly handler: string;
  /** A sample event of events/, sent as is to the runtimes and as an HTTP request to the front ends. */
  readonly event: string;
}

const VARIANTS: readonly Variant[] = [
  { label: 'the real handler: `Range: bytes=0-1023`', handler: 'real', event: 'range.json' },
  { label: 'the real handler: `HEAD` (no body bytes)', handler: 'real', event: 'head.json' },
  { label: 'the real handler: a missing file (404)', handler: 'real', event: 'missing-file.json' },
  { label: 'writes nothing, `end()`', handler: 'writesNothing', event: 'range.json' },
  { label: "ends with a chunk, `end('xyz')`", handler: 'endsWithChunk', event: 'range.json' },
  { label: 'an empty chunk, then `end()`', handler: 'emptyChunkThenEnd', event: 'range.json' },
  { label: 'several chunks (1 B to 100 kB, NUL bytes inside)', handler: 'severalChunks', event: 'range.json' },
  { label: 'writes without `HttpResponseStream.from`', handler: 'withoutPrelude', event: 'range.json' },
  { label: 'throws before any `HttpResponseStream.from`', handler: 'throwsBeforeWrite', event: 'range.json' },
  { label: 'throws after `HttpResponseStream.from`, before the first write', handler: 'throwsAfterPreludeSet', event: 'range.json' },
  { label: 'throws after the first write', handler: 'throwsAfterWrite', event: 'range.json' },
  { label: '`destroy()` after the first write', handler: 'destroysAfterWrite', event: 'range.json' },
  { label: '`destroy()` before any write', handler: 'destroysBeforeWrite', event: 'range.json' },
  { label: "the real handler's writer, its body failing mid-way", handler: 'bodyFailsMidway', event: 'range.json' },
  { label: 'resolves first, writes and ends 100 ms later', handler: 'endsAfterReturning', event: 'range.json' },
  { label: `never ends its stream (${TIMEOUT_SECONDS} s timeout)`, handler: 'neverEnds', event: 'range.json' },
  { label: 'writes its context', handler: 'writesContext', event: 'range.json' },
];

/** Where the two differ, and why; each check asserts that difference and no other. */
const DIFFERENCES: Readonly<Record<string, { readonly reason: string; readonly check: (emulated: Observed, real: Observed) => void }>> = {
  writesContext: {
    reason:
      "context keys: the emulation's Context keeps `callbackWaitsForEmptyEventLoop`, `done`, `fail` and `succeed`, which @types/aws-lambda's `Context` requires and aws-lambda-ric 4 no longer provides (it has no callback-style completion); it lacks `xRayTraceId`, which that type does not declare. Every value compared is equal.",
    check: (emulated, real) => {
      const [e, r] = [contextOf(emulated), contextOf(real)];
      expect({ ...e, keys: [] }).toEqual({ ...r, keys: [] });
      expect(e.keys.filter((key) => !r.keys.includes(key))).toEqual(['callbackWaitsForEmptyEventLoop', 'done', 'fail', 'succeed']);
      expect(r.keys.filter((key) => !e.keys.includes(key))).toEqual(['xRayTraceId']);
    },
  },
};

interface Received {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly complete: boolean;
}

interface Observed {
  readonly reached: Reached;
  readonly received: Received;
  /** The runtime process was replaced after the invocation (it exited). */
  readonly exited?: boolean;
}

const events = new Map(
  VARIANTS.map((v) => [v.event, JSON.parse(readFileSync(join(EVENTS_DIR, v.event), 'utf8')) as LambdaFunctionURLEvent]),
);
const eventOf = (variant: Variant) => events.get(variant.event) as LambdaFunctionURLEvent;
const handlerNames = [...new Set(VARIANTS.map((v) => v.handler))];
const env = {
  ...process.env,
  DOWNLOADS_DIR: join(PROJECT_ROOT, 'downloads'),
  ACCESS_LOG: 'off',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const fn = { name: 'conformance', timeoutSeconds: TIMEOUT_SECONDS, memoryMb: 128 };
const logs: string[] = [];
const log = (message: string) => logs.push(message);

let removeBundle: (() => Promise<void>) | undefined;
const emulated = new Map<string, { invoke: Invoke; server: RunningUrlServer }>();
const real = new Map<string, { pool: RuntimePool; server: RunningUrlServer }>();
const rows: string[] = [];

beforeAll(async () => {
  const bundle = await bundleForRuntime('handlers');
  removeBundle = bundle.remove;
  Object.assign(process.env, env);
  installRuntimeGlobal();
  const module = (await import(pathToFileURL(bundle.file).href)) as Record<string, unknown>;
  await Promise.all(
    handlerNames.map(async (name) => {
      const handler = module[name];
      if (!isStreamingHandler(handler)) throw new Error(`${name} is not a streaming handler`);
      const invoke = emulatedInvoke({ ...fn, handler }, log);
      emulated.set(name, { invoke, server: await startFunctionUrl({ port: 0, log }, fn.name, invoke) });
      const pool = await RuntimePool.start({
        size: 1,
        fn,
        taskRoot: bundle.taskRoot,
        handler: `handlers.${name}`,
        env,
        log,
        output: () => undefined,
      });
      real.set(name, { pool, server: await startFunctionUrl({ port: 0, log }, fn.name, pool.invoke) });
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([...emulated.values()].map(({ server }) => server.close()));
  await Promise.all([...real.values()].flatMap(({ pool, server }) => [server.close(), pool.stop()]));
  await removeBundle?.();
  const file = process.env.CONFORMANCE_TABLE;
  if (file !== undefined && rows.length === VARIANTS.length) {
    const header = `Emulation under Node.js ${process.versions.node}; aws-lambda-ric under Node.js 22 (local/ric). Runtime: what reached the front end (content type, bytes, ending). Client: what reached an HTTP client.\n\n| Variant | Emulation | Real runtime (aws-lambda-ric) | Equal? |\n|---|---|---|---|\n`;
    writeFileSync(file, header + rows.join('\n') + '\n');
  }
}, 60_000);

describe('the emulation against aws-lambda-ric, handler by handler', () => {
  it.each(VARIANTS.map((variant) => [variant.label, variant] as const))('%s', async (_label, variant) => {
    const event = eventOf(variant);
    const emulation = emulated.get(variant.handler);
    const ric = real.get(variant.handler);
    if (emulation === undefined || ric === undefined) throw new Error('not started');
    const pidsBefore = ric.pool.pids();
    const [fromEmulation, fromReal] = await Promise.all([
      (async (): Promise<Observed> => ({
        reached: await reach(emulation.invoke, event).reached,
        received: await receive(emulation.server.url, event),
      }))(),
      (async (): Promise<Observed> => {
        const reached = await reach(ric.pool.invoke, event).reached;
        const received = await receive(ric.server.url, event);
        return { reached, received, exited: !sameProcesses(pidsBefore, await settledPids(ric.pool)) };
      })(),
    ]);

    const difference = DIFFERENCES[variant.handler];
    const equal = difference === undefined && isEqual(fromEmulation, fromReal);
    rows.push(
      `| ${variant.label} | ${describeObserved(fromEmulation)} | ${describeObserved(fromReal)} | ${equal ? 'yes' : difference === undefined ? '**no**' : `no: ${difference.reason}`} |`,
    );
    if (difference !== undefined) {
      difference.check(fromEmulation, fromReal);
      return;
    }
    expect(comparable(fromEmulation.reached)).toEqual(comparable(fromReal.reached));
    expect(comparable(fromEmulation.received)).toEqual(comparable(fromReal.received));
  });

  it('saw the runtime process end exactly where a handler destroyed its stream or timed out, and the emulation warn where it destroyed', () => {
    const exited = VARIANTS.filter((v) => v.handler.startsWith('destroys') || v.handler === 'neverEnds').map((v) => `| ${v.label} |`);
    expect(rows.filter((row) => row.includes('the process exited')).map((row) => row.slice(0, row.indexOf(' |') + 2))).toEqual(exited);
    // Twice each: once into the recording sink, once over HTTP.
    expect(logs.filter((line) => line.includes('throw to cut an answer')).length).toBe(
      2 * VARIANTS.filter((v) => v.handler.startsWith('destroys')).length,
    );
  });
});

/** The event as an HTTP request to a front end, and what came back. */
function receive(baseUrl: string, event: LambdaFunctionURLEvent): Promise<Received> {
  const { host: _host, ...headers } = event.headers;
  const target = `${event.rawPath}${event.rawQueryString === '' ? '' : `?${event.rawQueryString}`}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${target}`, { method: event.requestContext.http.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => undefined);
      res.on('close', () => {
        clearTimeout(timer);
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode ?? 0, headers: rest, body: Buffer.concat(chunks), complete: res.complete });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${WAIT_MS} ms`)), WAIT_MS);
    req.on('error', (error) => {
      clearTimeout(timer);
      // Cut before a status line: no response at all.
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET')
        resolve({ status: 0, headers: {}, body: Buffer.alloc(0), complete: false });
      else reject(error);
    });
    req.end();
  });
}

/** The pool's processes once any replacement has started (a process that exited is replaced at once). */
async function settledPids(pool: RuntimePool): Promise<number[]> {
  const deadline = Date.now() + WAIT_MS;
  let pids = pool.pids();
  while (pids.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    pids = pool.pids();
  }
  return pids;
}

function sameProcesses(before: number[], after: number[]): boolean {
  return before.length === after.length && before.every((pid, i) => pid === after[i]);
}

/**
 * What is compared: everything, except the wording of the runtime's own errors (Runtime.*: the
 * emulation names what the runtime client would have done, the client says it in its words).
 */
function comparable(observed: Reached | Received): unknown {
  if ('body' in observed) return { ...observed, body: observed.body.toString('base64') };
  const bytes = observed.bytes.toString('base64');
  if (observed.error?.errorType.startsWith('Runtime.')) return { ...observed, bytes, error: { errorType: observed.error.errorType } };
  return { ...observed, bytes };
}

function isEqual(a: Observed, b: Observed): boolean {
  return (
    JSON.stringify([comparable(a.reached), comparable(a.received)]) === JSON.stringify([comparable(b.reached), comparable(b.received)])
  );
}

function contextOf(observed: Observed): { keys: string[] } & Record<string, unknown> {
  const { bytes, contentType } = observed.reached;
  return JSON.parse(decodeRuntimeBytes(bytes, contentType).body.toString('utf8')) as { keys: string[] } & Record<string, unknown>;
}

function describeObserved(observed: Observed): string {
  const { reached, received } = observed;
  const type = reached.contentType === PRELUDE_CONTENT_TYPE ? 'prelude type' : reached.contentType || 'no type';
  const error = reached.error === undefined ? '' : ` ${reached.error.errorType}: ${reached.error.errorMessage}`;
  const runtime = `runtime: ${type}, ${preview(reached.bytes)}, ${reached.ending}${error}`;
  const client =
    received.status === 0
      ? 'client: connection cut, no status'
      : `client: ${received.status} ${String(received.headers['content-type'] ?? '')}, ${received.body.length} B body, ${received.complete ? 'complete' : 'cut'}`;
  return `${runtime}; ${client}${observed.exited === true ? '; the process exited' : ''}`.replaceAll('|', '\\|');
}

/**
 * Bytes for a table cell: the prelude shown as prelude(status), then at most 24 characters of body.
 * The raw bytes, found by their shape rather than decoded (decodeRuntimeBytes): a decoder drops
 * what a runtime sent under the prelude type without a prelude (`end('xyz')`, issue #97), and the
 * table is there to show it.
 */
function preview(bytes: Buffer): string {
  if (bytes.length === 0) return 'no bytes';
  const nul = bytes.indexOf(Buffer.alloc(DELIMITER_LENGTH));
  const head =
    nul < 0 ? '' : `prelude(${(JSON.parse(bytes.subarray(0, nul).toString('utf8')) as { statusCode?: number }).statusCode ?? '?'}) + 8 NUL`;
  const body = nul < 0 ? bytes : bytes.subarray(nul + DELIMITER_LENGTH);
  if (body.length === 0) return `${head}, no body`;
  const text = JSON.stringify(body.subarray(0, 24).toString('latin1')).slice(1, -1);
  return `${head}${head === '' ? '' : ' + '}\`${text}\`${body.length > 24 ? `… (${body.length} B)` : ''}`;
}
