/**
 * A real S3-compatible server for integration tests: OpenStack Swift (Debian's packages) as a single
 * node on 127.0.0.1 with its `s3api` + `tempauth` middlewares. Everything it writes (swift.conf, the
 * four server confs, the rings, the object/container/account data) lives in a fresh temp dir that
 * `stop()` removes; nothing is read from /etc/swift or written to /srv, and there is no rsync,
 * memcached or syslog involved. Each call gets its own dir and its own kernel-chosen ports, so
 * separate test processes can run one each in parallel. Start: ~2 s on 2 idle cores.
 *
 * Needs: `apt-get install -y --no-install-recommends swift swift-proxy swift-account swift-container swift-object`
 * (.ci/run installs them). This module never installs anything itself.
 *
 * In support/, not test/support/: the bench's S3 rows (bench/lib/s3-server.ts) run it too, and
 * bench/ depends on nothing of test/.
 *
 * Clients: Swift 2.30's s3api rejects the SDK's default aws-chunked uploads of streams (501
 * NotImplemented) and sends no x-amz-checksum-* headers, so use `swiftS3ClientConfig(server)`
 * (requestChecksumCalculation/responseChecksumValidation: 'WHEN_REQUIRED').
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListBucketsCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
  /**
   * The proxy's access-log lines so far, one per client request, written when its response ends
   * (proxy-logging's default template, space-separated, URL-quoted fields, `-` for empty):
   * `proxy-server: {client_ip} {remote_addr} {dd/Mon/yyyy/HH/MM/SS} {method} {path, query quoted}
   *  {protocol} {status} {referer} {user_agent} {auth_token} {bytes_recvd} {bytes_sent} {client_etag}
   *  {txn_id} {headers} {request_time} {source} {log_info} {start_time} {end_time} {policy_index}`
   * e.g. `proxy-server: 127.0.0.1 127.0.0.1 25/Nov/2026/10/52/53 GET /bucket1/k%3Fx-id%3DGetObject HTTP/1.0 206 - aws-sdk-js/... - - 100 - tx... - 0.0290 - - 1795603973.703 1795603973.732 0`
   * Status 499 = the client went away mid-body. The first line is startSwift's own ListBuckets.
   */
  accessLog(): string[];
  /** Everything the four servers wrote to stderr so far (last 50,000 lines): for diagnostics. */
  log(): string;
}

export interface StartSwiftOptions {
  /** Upper bound for the whole start; default 30 s. */
  timeoutMs?: number;
}

/** S3Client settings for this server (path-style; checksums only where an operation requires them). */
export function swiftS3ClientConfig(server: S3Server): S3ClientConfig {
  return {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Swift's own python; a pyenv/venv `python3` first on PATH would not see Debian's `swift` module. */
export const SWIFT_PYTHON = '/usr/bin/python3';
const REQUIRED_FILES = [
  [SWIFT_PYTHON, 'python3'],
  ['/usr/lib/python3/dist-packages/swift/common/middleware/s3api/s3api.py', 'python3-swift'],
  ['/usr/bin/swift-ring-builder', 'swift'],
  ['/usr/bin/swift-proxy-server', 'swift-proxy'],
  ['/usr/bin/swift-account-server', 'swift-account'],
  ['/usr/bin/swift-container-server', 'swift-container'],
  ['/usr/bin/swift-object-server', 'swift-object'],
] as const;
export const SWIFT_APT_PACKAGES = 'swift swift-proxy swift-account swift-container swift-object';

const DIR_PREFIX = 'swift-s3-';
const REGION = 'us-east-1';
const ACCOUNT = 'test';
const USER = 'tester';
type ServerName = 'account' | 'container' | 'object' | 'proxy';

/**
 * The launcher (support/swift-launcher.py): one python process that prepares Swift once and forks
 * the four servers; its header says how, and which Swift version it is written against. Given to
 * python as `-c` text, not as a script path, so that its sys.path[0] is its cwd (the temp dir) and
 * no file beside it here can shadow a module it imports.
 */
export const SWIFT_LAUNCHER = fileURLToPath(new URL('swift-launcher.py', import.meta.url));

/** The Debian packages whose files startSwift needs and does not find: none when Swift is installed. */
export function missingSwiftPackages(): string[] {
  return REQUIRED_FILES.filter(([path]) => {
    try {
      accessSync(path, path.endsWith('.py') ? constants.R_OK : constants.X_OK);
      return false;
    } catch {
      return true;
    }
  }).map(([, pkg]) => pkg);
}

function checkInstalled(): void {
  const missing = missingSwiftPackages();
  if (missing.length > 0) {
    throw new Error(
      `OpenStack Swift is not installed (missing: ${missing.join(', ')}): install it with ` +
        `\`apt-get install -y --no-install-recommends ${SWIFT_APT_PACKAGES}\` (.ci/run does)`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function swiftConf(): string {
  return `[swift-hash]
swift_hash_path_suffix = ${randomBytes(8).toString('hex')}
swift_hash_path_prefix = ${randomBytes(8).toString('hex')}

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
`;
}

function commonDefaults(dir: string, logName: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
# bound by the launcher (port 0, before fork), which hands the socket to the server
bind_port = 0
workers = 0
swift_dir = ${dir}
devices = ${join(dir, 'srv')}
mount_check = false
disable_fallocate = true
fallocate_reserve = 0
log_name = ${logName}
log_level = INFO
`;
}

function backendConf(dir: string, kind: 'account' | 'container' | 'object'): string {
  return `${commonDefaults(dir, `${kind}-server`)}
[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
log_requests = false
`;
}

function proxyConf(dir: string, secret: string): string {
  return `${commonDefaults(dir, 'proxy-server')}
[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
log_handoffs = false

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
paste.filter_factory = swift_s3_test_nocache:filter_factory

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = ${REGION}
s3_acl = false
dns_compliant_bucket_names = true

[filter:tempauth]
use = egg:swift#tempauth
user_${ACCOUNT}_${USER} = ${secret} .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
`;
}

/** The launcher process (own process group holding it and the four forked servers) and its output. */
interface Launcher {
  proc: ChildProcess;
  output: string[];
  exited: boolean;
  /** From the launcher's `SWIFT_PORTS ...` line, once it has bound the sockets. */
  ports: Record<ServerName, number> | undefined;
}

const LOG_LIMIT = 50_000;

function killGroup(launcher: Launcher, signal: NodeJS.Signals): void {
  if (launcher.proc.pid === undefined) return;
  try {
    process.kill(-launcher.proc.pid, signal);
  } catch {
    // group already gone
  }
}

function groupAlive(launcher: Launcher): boolean {
  if (launcher.proc.pid === undefined) return false;
  try {
    process.kill(-launcher.proc.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the whole group, SIGKILL whatever is left after graceMs; bounded (≤ graceMs + 2 s). */
async function stopGroup(launcher: Launcher, graceMs = 3000): Promise<void> {
  killGroup(launcher, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((!launcher.exited || groupAlive(launcher)) && Date.now() < deadline) await sleep(25);
  killGroup(launcher, 'SIGKILL');
  const killDeadline = Date.now() + 2000;
  while ((!launcher.exited || groupAlive(launcher)) && Date.now() < killDeadline) await sleep(25);
}

function tail(launcher: Launcher, lines = 40): string {
  return launcher.output.slice(-lines).join('\n');
}

/** Servers still running when the node process exits (stop() not called): killed synchronously. */
const live = new Set<{ launcher: Launcher | undefined; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of live) {
      if (instance.launcher) killGroup(instance.launcher, 'SIGKILL');
      try {
        rmSync(instance.dir, { recursive: true, force: true });
      } catch {
        // best effort; the next startSwift sweeps it
      }
    }
  });
}

function launch(dir: string): Launcher {
  const args = ['-c', readFileSync(SWIFT_LAUNCHER, 'utf8'), dir, String(process.pid)];
  const proc = spawn(SWIFT_PYTHON, args, {
    cwd: dir,
    // Own process group (and session): stop() signals the whole group, servers included.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  });
  const launcher: Launcher = { proc, output: [], exited: false, ports: undefined };
  const collect = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const announced = /^SWIFT_PORTS account=(\d+) container=(\d+) object=(\d+) proxy=(\d+)$/.exec(line);
        if (announced) {
          const [account, container, object, proxy] = announced.slice(1).map(Number) as [number, number, number, number];
          launcher.ports = { account, container, object, proxy };
        }
        launcher.output.push(line);
      }
      if (launcher.output.length > LOG_LIMIT) launcher.output.splice(0, launcher.output.length - LOG_LIMIT);
    };
  };
  proc.stdout?.on('data', collect());
  proc.stderr?.on('data', collect());
  proc.once('exit', () => {
    launcher.exited = true;
  });
  proc.once('error', (err) => {
    launcher.exited = true;
    launcher.output.push(`spawn ${SWIFT_PYTHON} failed: ${err.message}`);
  });
  // The servers never keep the test process alive by themselves: the exit hook and
  // PR_SET_PDEATHSIG take them down with it.
  proc.unref();
  (proc.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (proc.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  return launcher;
}

async function launchAndWait(deadline: number): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const instance: { launcher: Launcher | undefined; dir: string } = { launcher: undefined, dir };
  live.add(instance);
  installExitHook();
  let client: S3Client | undefined;
  const cleanup = async () => {
    client?.destroy();
    if (instance.launcher) await stopGroup(instance.launcher);
    live.delete(instance);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    await mkdir(join(dir, 'srv', 'd1'), { recursive: true });
    const secretAccessKey = randomBytes(12).toString('hex');
    await writeFile(join(dir, 'swift.conf'), swiftConf());
    await writeFile(join(dir, 'account-server.conf'), backendConf(dir, 'account'));
    await writeFile(join(dir, 'container-server.conf'), backendConf(dir, 'container'));
    await writeFile(join(dir, 'object-server.conf'), backendConf(dir, 'object'));
    await writeFile(join(dir, 'proxy-server.conf'), proxyConf(dir, secretAccessKey));

    const launcher = launch(dir);
    instance.launcher = launcher;
    const accessKeyId = `${ACCOUNT}:${USER}`;

    let lastError: unknown;
    let endpoint: string | undefined;
    for (;;) {
      if (launcher.exited) {
        throw new Error(`swift exited during start (dir ${dir}):\n${tail(launcher)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `swift did not answer S3 ListBuckets${endpoint ? ` on ${endpoint}` : ''} in time ` +
            `(last error: ${String(lastError)}):\n${tail(launcher)}`,
        );
      }
      if (launcher.ports && !client) {
        endpoint = `http://127.0.0.1:${launcher.ports.proxy}`;
        client = new S3Client({
          endpoint,
          region: REGION,
          forcePathStyle: true,
          credentials: { accessKeyId, secretAccessKey },
          maxAttempts: 1,
        });
      }
      if (client) {
        try {
          const remaining = Math.max(1, Math.min(2000, deadline - Date.now()));
          await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(remaining) });
          break;
        } catch (err) {
          lastError = err;
        }
      }
      await sleep(50);
    }
    client.destroy();
    client = undefined;

    let stopped: Promise<void> | undefined;
    return {
      endpoint: endpoint as string,
      region: REGION,
      accessKeyId,
      secretAccessKey,
      // Client requests only: Swift-internal subrequests (e.g. versioned_writes' HEADs) log client_ip "-".
      accessLog: () => launcher.output.filter((line) => /^proxy-server: (?!- )\S+ \S+ \d\d\/\w{3}\/\d{4}\//.test(line)),
      log: () => launcher.output.join('\n'),
      stop: () => (stopped ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Temp dirs left by a test process that died by SIGKILL (its servers died with it through
 * PR_SET_PDEATHSIG, but nothing could remove the dir): removed when their owner pid is gone.
 */
async function sweepOrphanDirs(): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // owner alive
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Starts a fresh single-node Swift with s3api; resolves once an S3 ListBuckets call succeeds. */
export async function startSwift(options: StartSwiftOptions = {}): Promise<S3Server> {
  checkInstalled();
  await sweepOrphanDirs();
  return launchAndWait(Date.now() + (options.timeoutMs ?? 30_000));
}
