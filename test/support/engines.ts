import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { Builder, Capabilities } from 'selenium-webdriver';
import { CHROMIUM_ARGS, requireTool } from './tools';

export type EngineName = 'chromium' | 'firefox' | 'webkit';
export const ENGINES: readonly EngineName[] = ['chromium', 'firefox', 'webkit'];

/** One browser engine behind the same four steps, whatever drives it. */
export interface Engine {
  readonly name: EngineName;
  /** The browser's version as its driver reports it. */
  readonly version: string;
  /**
   * Opens `pageUrl` in a fresh page (in WebKit, its one window navigated anew, with a cache shared
   * across runs: give each run media URLs of its own), runs `script(arg)` there (the same source
   * text in every engine) and returns what its promise resolves to. `arg` and the result travel as
   * JSON, which all three protocols carry alike. A rejection, or no answer within `timeoutMs`, is
   * thrown here.
   */
  run<A, R>(pageUrl: string, script: (arg: A) => Promise<R>, arg: A, timeoutMs: number): Promise<R>;
  /** Quits the browser and kills whatever of its processes is left: always safe to call, more than once too. */
  close(): Promise<void>;
  /** The process groups the engine runs in (browser, driver, display), for a leak check after close. */
  readonly processGroups: readonly number[];
}

const LAUNCH_MS = 60_000;
const NAVIGATE_MS = 15_000;
const CLOSE_MS = 10_000;

export const FIREFOX = '/usr/lib/firefox-esr/firefox-esr';
export const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

export async function launchEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'chromium':
      return launchChromium();
    case 'firefox':
      return launchFirefox();
    case 'webkit':
      return launchWebKit();
  }
}

/**
 * The page script as one expression, evaluated by all three drivers as it is. It settles to
 * `{ ok, value | error }` rather than rejecting, since each protocol reports a rejection in its own
 * shape (and WebDriver classic only as a generic "javascript error").
 */
function pageSource<A>(script: (arg: A) => Promise<unknown>, arg: A): string {
  // esbuild (tsx, vitest) may wrap named functions in __name(fn, "name") calls (keepNames); the
  // source text then needs that helper in the page too.
  const keepNames = 'const __name = (target) => target;';
  return `Promise.resolve().then(() => { ${keepNames} return (${script.toString()})(${JSON.stringify(arg)}); }).then((value) => ({ ok: true, value }), (error) => ({ ok: false, error: String(error) + ' ' + ((error && error.stack) || '') }))`;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: string };

function unwrap<R>(settled: Settled, engine: EngineName): R {
  if (!settled.ok) throw new Error(`${engine}: the page script failed: ${settled.error}`);
  return settled.value as R;
}

/** What playwright's and puppeteer's browser contexts have in common. */
interface BrowserContextLike {
  newPage(): Promise<{ goto(url: string, options: { timeout: number }): Promise<unknown>; evaluate(source: string): Promise<unknown> }>;
  close(): Promise<void>;
}

/** One run in a context of its own: no cache, no media state carried over from an earlier run. */
async function runInContext<R>(engine: EngineName, open: () => Promise<BrowserContextLike>, pageUrl: string, source: string, timeoutMs: number): Promise<R> {
  const context = await bounded(open(), NAVIGATE_MS, `${engine} context`);
  try {
    const page = await context.newPage();
    await page.goto(pageUrl, { timeout: NAVIGATE_MS });
    return unwrap(await bounded(page.evaluate(source) as Promise<Settled>, timeoutMs, `${engine} page script`), engine);
  } finally {
    await bounded(context.close(), CLOSE_MS, `${engine} context close`).catch(() => undefined);
  }
}

async function launchChromium(): Promise<Engine> {
  const executablePath = requireTool('/usr/bin/chromium', 'chromium');
  // launchServer rather than launch: it hands over the process, so that a hung close can be killed.
  const server = await chromium.launchServer({ executablePath, args: CHROMIUM_ARGS, timeout: LAUNCH_MS, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
  const group = server.process().pid ?? 0;
  const kill = once(async () => {
    await bounded(server.close(), CLOSE_MS, 'chromium close').catch(() => undefined);
    await killGroups([group]);
  });
  return orKill(kill, async () => {
    const browser = await chromium.connect(server.wsEndpoint(), { timeout: LAUNCH_MS });
    return {
      name: 'chromium',
      version: browser.version(),
      processGroups: [group],
      run: (pageUrl, script, arg, timeoutMs) => runInContext('chromium', () => browser.newContext(), pageUrl, pageSource(script, arg), timeoutMs),
      close: kill,
    };
  });
}

async function launchFirefox(): Promise<Engine> {
  const executablePath = requireTool(FIREFOX, 'firefox-esr');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    timeout: LAUNCH_MS,
    protocolTimeout: LAUNCH_MS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    extraPrefsFirefox: {
      // Muted media may autoplay anyway; this also covers a test that unmutes.
      'media.autoplay.default': 0,
      // No phoning home from a test machine without a network.
      'app.update.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
    },
  });
  const child = browser.process();
  const group = child?.pid ?? 0;
  const kill = once(async () => {
    await bounded(browser.close(), CLOSE_MS, 'firefox close').catch(() => undefined);
    // puppeteer starts Firefox in a process group of its own; content processes are in it too.
    await killGroups([group]);
  });
  return orKill(kill, async () => ({
    name: 'firefox',
    version: (await bounded(browser.version(), NAVIGATE_MS, 'firefox version')).replace(/^firefox\//i, ''),
    processGroups: [group],
    // A BiDi user context (a container) per run has a cache of its own, as a new profile would.
    run: (pageUrl, script, arg, timeoutMs) => runInContext('firefox', () => browser.createBrowserContext(), pageUrl, pageSource(script, arg), timeoutMs),
    close: kill,
  }));
}

/**
 * WebKitGTK has no headless mode: MiniBrowser runs on an Xvfb display of its own, launched by
 * WebKitWebDriver, which selenium-webdriver talks to. Both are started here, each in a process
 * group of its own, so that nothing outlives close(): not the driver, not MiniBrowser, not its
 * web and network processes, not the display.
 */
async function launchWebKit(): Promise<Engine> {
  const driverPath = requireTool(WEBKIT_DRIVER, 'webkit2gtk-driver');
  requireTool(MINIBROWSER, 'libwebkit2gtk-4.1-0');
  requireTool('/usr/bin/Xvfb', 'xvfb');
  const started: ChildProcess[] = [];
  const kill = once(async () => {
    // The driver's group holds MiniBrowser and its web and network processes; the display goes
    // last, asked first to end (Xvfb then removes its socket and lock in /tmp).
    await killGroups(started.slice(1).map((child) => child.pid ?? 0));
    await killGroups(started.slice(0, 1).map((child) => child.pid ?? 0), 'SIGTERM');
  });
  return orKill(kill, async () => {
    const { child: xvfb, display } = await startXvfb();
    started.push(xvfb);
    const port = await freePort();
    const driverProcess = spawn(driverPath, [`--port=${port}`], {
      env: { ...process.env, DISPLAY: display },
      detached: true,
      stdio: 'ignore',
    });
    started.push(driverProcess);
    const server = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${server}/status`)).ok, LAUNCH_MS, 'WebKitWebDriver');
    const capabilities = new Capabilities({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    });
    const driver = new Builder().usingServer(server).withCapabilities(capabilities).build();
    await bounded(driver.getSession(), LAUNCH_MS, 'WebKit session');
    const version = String((await bounded(driver.getCapabilities(), NAVIGATE_MS, 'WebKit capabilities')).get('browserVersion'));
    const quit = once(async () => {
      await bounded(driver.quit(), CLOSE_MS, 'WebKit quit').catch(() => undefined);
      await kill();
    });
    return {
      name: 'webkit',
      version,
      processGroups: started.map((child) => child.pid ?? 0),
      async run(pageUrl, script, arg, timeoutMs) {
        await bounded(driver.manage().setTimeouts({ pageLoad: NAVIGATE_MS, script: timeoutMs }), NAVIGATE_MS, 'WebKit timeouts');
        // One window, navigated anew per run (so the previous run's page and media go with it); its
        // cache is shared, so callers give each run URLs of its own.
        await bounded(driver.get(pageUrl), NAVIGATE_MS, 'WebKit navigation');
        const settled = await bounded(
          driver.executeAsyncScript(`(${pageSource(script, arg)}).then(arguments[arguments.length - 1]);`) as Promise<Settled>,
          timeoutMs + 1_000,
          'WebKit page script',
        );
        return unwrap(settled, 'webkit');
      },
      close: quit,
    };
  });
}

/** Xvfb on the first free display, which it reports itself (-displayfd): no guessing, no race. */
async function startXvfb(): Promise<{ child: ChildProcess; display: string }> {
  const child = spawn('/usr/bin/Xvfb', ['-displayfd', '3', '-screen', '0', '1280x720x24', '-nolisten', 'tcp', '-noreset'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const displayPipe = child.stdio[3];
  if (displayPipe === null || displayPipe === undefined || !('on' in displayPipe)) throw new Error('Xvfb: no display pipe');
  try {
    const display = await bounded(
      new Promise<string>((resolve, reject) => {
        let text = '';
        displayPipe.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\n')) resolve(`:${text.trim()}`);
        });
        child.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${errors}`)));
      }),
      LAUNCH_MS,
      'Xvfb',
    );
    return { child, display };
  } catch (error) {
    await killGroups([child.pid ?? 0]);
    throw error;
  }
}

/** The pids still alive in any of `groups` (read from /proc; zombies count as gone). */
export function livingProcesses(groups: readonly number[]): number[] {
  const wanted = new Set(groups.filter((group) => group > 0));
  const living: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && wanted.has(Number(fields[2]))) living.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return living;
}

/**
 * Kills whatever is left in `groups` and waits until /proc shows none of it: a process killed
 * with much memory mapped takes a moment to go, and grandchildren (MiniBrowser, content
 * processes) are not ours to wait for with waitpid. With SIGTERM first, SIGKILL follows after 2 s.
 */
async function killGroups(groups: readonly number[], first: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    for (const group of groups) {
      try {
        if (group > 0) process.kill(-group, name);
      } catch {
        // Already gone.
      }
    }
  };
  // Sent again while anything is left: a process may have been forked while the first one went out.
  const until = async (name: NodeJS.Signals, ms: number) => {
    const deadline = Date.now() + ms;
    do {
      signal(name);
      if (livingProcesses(groups).length === 0) return true;
      await sleep(50);
    } while (Date.now() < deadline);
    return false;
  };
  if (first === 'SIGTERM' && (await until('SIGTERM', 2_000))) return;
  await until('SIGKILL', CLOSE_MS);
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(test: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await test().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up in ${ms} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `make()`, and if it fails, `kill()` before the error goes on: a half-launched engine leaves nothing behind. */
async function orKill<T>(kill: () => Promise<void>, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    await kill();
    throw error;
  }
}

/** `fn` runs once; later calls get the same promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
