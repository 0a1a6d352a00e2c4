import { statSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from './lambda-runtime';
import { ricInstalled } from './ric';
import { RuntimePool } from './runtime-pool';
import { startFunctionUrl, startUrlServer, type FunctionUrlOptions, type RunningUrlServer } from './url-server';

/**
 * A serverless plugin that gives `serverless offline` what serverless-offline lacks: Function URLs
 * (`url:` functions, issue #1382) with real response streaming (issue #1681). Each url function is
 * served on its own port from PORT (default 8001), by the same bundle serverless-esbuild builds
 * for deployment, through an emulation of the Lambda runtime's streaming contract in this process,
 * or with LAMBDA_RUNTIME=ric through AWS's own runtime client (aws-lambda-ric under Node.js 22, in
 * RIC_CONCURRENCY processes: runtime-pool.ts).
 */

interface FunctionConfig {
  readonly handler: string;
  readonly url?: unknown;
  readonly timeout?: number;
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
}

interface Serverless {
  readonly serviceDir?: string;
  readonly config: { readonly servicePath: string };
  readonly service: {
    readonly custom?: Record<string, unknown>;
    readonly provider: { readonly environment?: Record<string, string>; readonly timeout?: number; readonly memorySize?: number };
    getAllFunctions(): string[];
    getFunction(name: string): FunctionConfig;
  };
}

interface Logger {
  notice(message: string): void;
  error(message: string): void;
}

const MODULE_EXTENSIONS = ['.mjs', '.js', '.cjs'];
// How often a request may check whether serverless-esbuild's watcher rebuilt the bundle.
const RELOAD_CHECK_MS = 1000;
/**
 * Runtime processes under LAMBDA_RUNTIME=ric, i.e. requests served at once (more queue). Four: a
 * player keeps one or two requests open and a page with a few videos a handful, two cores gain
 * nothing from more CPU-bound processes, and each holds about 60 MB (Node.js 22, the bundle).
 */
const DEFAULT_RIC_CONCURRENCY = 4;
const MAX_RIC_CONCURRENCY = 64;

/** Started and stopped by the hooks that offline-url-plugin.mjs declares. */
export class OfflineUrlPlugin {
  readonly #servers: RunningUrlServer[] = [];
  readonly #pools: RuntimePool[] = [];
  readonly #log: Logger;

  constructor(
    private readonly serverless: Serverless,
    /** The project folder, as it was before serverless-esbuild pointed the service at its build. */
    private readonly projectDir: string,
    utils?: { log?: Logger },
  ) {
    this.#log = utils?.log ?? { notice: (m) => console.log(m), error: (m) => console.error(m) };
  }

  async start(): Promise<void> {
    if (this.#servers.length > 0) return;
    const { service } = this.serverless;
    const names = service.getAllFunctions().filter((name) => service.getFunction(name).url !== undefined);
    const custom = (service.custom?.urlOffline ?? {}) as { port?: number | string; host?: string };
    const basePort = Number(custom.port ?? process.env.PORT ?? 8001);
    const host = custom.host ?? process.env.HOST ?? 'localhost';
    const runtime = runtimeFromEnv(process.env.LAMBDA_RUNTIME);
    if (runtime === 'emulation') installRuntimeGlobal();
    else if (!ricInstalled()) throw new Error('LAMBDA_RUNTIME=ric: local/ric is not installed; run `node scripts/ensure-ric.mjs` (`LAMBDA_RUNTIME=ric npm start` does)');

    for (const [index, name] of names.entries()) {
      const config = service.getFunction(name);
      // Lambda gives the function its configured environment; here the shell's own values win, so
      // that `DOWNLOADS_DIR=... npm start` works without editing serverless.yml.
      for (const [key, value] of Object.entries({ ...service.provider.environment, ...config.environment })) {
        process.env[key] ??= String(value);
      }
      process.env.IS_OFFLINE = 'true';
      const fn = {
        name,
        timeoutSeconds: config.timeout ?? service.provider.timeout ?? 6,
        memoryMb: config.memorySize ?? service.provider.memorySize ?? 1024,
      };
      const frontEnd: FunctionUrlOptions = {
        port: basePort === 0 ? 0 : basePort + index,
        host,
        remapContentLength: process.env.OFFLINE_REMAP_CONTENT_LENGTH === 'true',
        log: (message) => this.#log.error(message),
      };
      const server =
        runtime === 'ric'
          ? await this.#ricServer(fn, config.handler, frontEnd)
          : await startUrlServer({ ...frontEnd, fn: { ...fn, handler: await this.#reloadingHandler(name, config.handler) } });
      this.#servers.push(server);
      this.#log.notice(`offline-url: ${name} listening on ${server.url}`);
    }
    const stop = () => void this.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }

  /**
   * `serverless invoke local` loads handlers with require() and calls them as (event, context,
   * callback), which a streaming handler cannot answer. For url functions, point the invocation at
   * a small CommonJS shim (written next to the bundle) that runs the real handler through the
   * emulated runtime and returns the decoded answer in the buffered Function URL shape.
   */
  async prepareInvokeLocal(options: { function?: string; functionObj?: { handler: string } }): Promise<void> {
    const name = options.function;
    if (name === undefined || options.functionObj === undefined) return;
    const config = this.serverless.service.getFunction(name);
    if (config.url === undefined) return;
    // serverless-esbuild has chdir'ed into its build folder; relative paths are the project's.
    process.env.DOWNLOADS_DIR = this.#downloadsDir();
    const buildDir = this.serverless.config.servicePath;
    const handlerPath = options.functionObj.handler;
    const exportName = handlerPath.slice(handlerPath.lastIndexOf('.') + 1);
    const bundle = await findModule(resolve(buildDir, handlerPath.slice(0, handlerPath.lastIndexOf('.'))), name, handlerPath);
    // Outside the build folder, so that no package ever ships it.
    const shimDir = resolve(this.projectDir, '.esbuild', 'invoke-local');
    await mkdir(shimDir, { recursive: true });
    const shim = join(shimDir, `${name}.cjs`);
    const invoker = pathToFileURL(resolve(import.meta.dirname, 'buffered-invoke.ts')).href;
    await writeFile(
      shim,
      [
        "'use strict';",
        '// Written by local/offline-url-plugin.ts for `serverless invoke local`; see prepareInvokeLocal.',
        'exports.handler = async (event, context) => {',
        "  const { tsImport } = await import('tsx/esm/api');",
        `  const { invokeBuffered } = await tsImport(${JSON.stringify(invoker)}, __filename);`,
        `  return invokeBuffered(${JSON.stringify(bundle)}, ${JSON.stringify(exportName)}, event, context);`,
        '};',
        '',
      ].join('\n'),
    );
    options.functionObj.handler = `${relative(buildDir, shim).replace(/\.cjs$/, '')}.handler`;
  }

  async stop(): Promise<void> {
    const servers = this.#servers.splice(0);
    await Promise.all(servers.map((server) => server.close()));
    const pools = this.#pools.splice(0);
    await Promise.all(pools.map((pool) => pool.stop()));
  }

  /** The handler of the built bundle, re-imported when serverless-esbuild's watcher rebuilds it. */
  async #reloadingHandler(name: string, handlerPath: string): Promise<StreamingHandler> {
    const file = await this.#moduleFile(name, handlerPath);
    const exportName = handlerPath.slice(handlerPath.lastIndexOf('.') + 1);
    const load = async (version: number): Promise<StreamingHandler> => {
      const module = (await import(`${pathToFileURL(file).href}?v=${version}`)) as Record<string, unknown>;
      const handler = module[exportName];
      if (!isStreamingHandler(handler)) {
        throw new Error(`${name}: ${handlerPath} is not wrapped in awslambda.streamifyResponse; offline-url serves RESPONSE_STREAM functions`);
      }
      return handler;
    };
    const bundle = new BundleVersion(file);
    let current = await load(bundle.version);
    return async (event, responseStream, context) => {
      if (bundle.changed()) {
        current = await load(bundle.version);
        this.#log.notice(`offline-url: ${name} reloaded`);
      }
      return current(event, responseStream, context);
    };
  }

  /**
   * The front end over a pool of aws-lambda-ric processes running the built bundle, with the task
   * root as their working directory as in Lambda; the processes are replaced when the bundle is
   * rebuilt.
   */
  async #ricServer(fn: { name: string; timeoutSeconds: number; memoryMb: number }, handlerPath: string, frontEnd: FunctionUrlOptions): Promise<RunningUrlServer> {
    const bundle = new BundleVersion(await this.#moduleFile(fn.name, handlerPath));
    const size = concurrencyFromEnv(process.env.RIC_CONCURRENCY);
    const pool = await RuntimePool.start({
      size,
      fn,
      taskRoot: this.#taskRoot(),
      handler: handlerPath,
      // The runtime's working directory is the task root: a relative folder is the project's.
      env: { ...process.env, DOWNLOADS_DIR: this.#downloadsDir() },
      log: (message) => this.#log.error(message),
    });
    this.#pools.push(pool);
    this.#log.notice(`offline-url: ${fn.name} runs in ${size} aws-lambda-ric processes (Node.js 22): ${pool.pids().join(', ')}`);
    return startFunctionUrl(frontEnd, fn.name, (event, sink) => {
      if (bundle.changed()) {
        pool.recycle();
        this.#log.notice(`offline-url: ${fn.name} reloaded`);
      }
      return pool.invoke(event, sink);
    });
  }

  /** Where serverless-esbuild has built the bundle: it points `location` there before our hook runs. */
  #taskRoot(): string {
    const offline = (this.serverless.service.custom?.['serverless-offline'] ?? {}) as { location?: string };
    return resolve(this.projectDir, offline.location ?? '.');
  }

  #downloadsDir(): string {
    return resolve(this.projectDir, process.env.DOWNLOADS_DIR || './downloads');
  }

  async #moduleFile(name: string, handlerPath: string): Promise<string> {
    return findModule(resolve(this.#taskRoot(), handlerPath.slice(0, handlerPath.lastIndexOf('.'))), name, handlerPath);
  }
}

/** Whether serverless-esbuild's watcher has rebuilt a file since the last look; it looks at most once a RELOAD_CHECK_MS. */
class BundleVersion {
  #version: number;
  #checkedAt = Date.now();

  constructor(private readonly file: string) {
    this.#version = statSync(file).mtimeMs;
  }

  get version(): number {
    return this.#version;
  }

  changed(): boolean {
    if (Date.now() - this.#checkedAt <= RELOAD_CHECK_MS) return false;
    this.#checkedAt = Date.now();
    const mtime = statSync(this.file).mtimeMs;
    if (mtime === this.#version) return false;
    this.#version = mtime;
    return true;
  }
}

function runtimeFromEnv(value: string | undefined): 'emulation' | 'ric' {
  if (value === undefined || value === '' || value === 'emulation') return 'emulation';
  if (value === 'ric') return 'ric';
  throw new Error(`LAMBDA_RUNTIME=${value} is not supported; use "emulation" (the default) or "ric"`);
}

function concurrencyFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_RIC_CONCURRENCY;
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1 || size > MAX_RIC_CONCURRENCY) throw new Error(`RIC_CONCURRENCY=${value}: a whole number from 1 to ${MAX_RIC_CONCURRENCY}`);
  return size;
}

async function findModule(base: string, name: string, handlerPath: string): Promise<string> {
  for (const extension of MODULE_EXTENSIONS) {
    const candidate = base + extension;
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  }
  throw new Error(`${name}: no built module for handler ${handlerPath} (looked for ${base}{${MODULE_EXTENSIONS.join(',')}})`);
}
