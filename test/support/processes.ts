import { readdirSync, readFileSync } from 'node:fs';
import type { BackendContext } from './backends';

/**
 * The processes of a running server, as Linux's /proc shows them. Under the emulation the handler
 * runs in the server process itself; under LAMBDA_RUNTIME=ric it runs in the pool's aws-lambda-ric
 * processes, the server's children, which hold the files and the S3 sockets. Read at each call:
 * the pool replaces a process that dies.
 */

/** Every process that serves the backend: the server (the front end) and its runtime processes. */
export function servingPids(backend: BackendContext): number[] {
  return [backend.pid, ...runtimePids(backend.pid)];
}

/** The processes the handler runs in: those that read the files and talk to S3. */
export function handlerPids(backend: BackendContext): number[] {
  return backend.runtime === 'ric' ? runtimePids(backend.pid) : [backend.pid];
}

/** Resident memory of the processes, in bytes. */
export function rssBytes(pids: readonly number[]): number {
  return sum(pids, (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024);
}

/** Bytes the processes have read, from files and sockets alike (rchar of /proc/<pid>/io). */
export function readChars(pids: readonly number[]): number {
  return sum(pids, (pid) => Number(/rchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN));
}

function sum(pids: readonly number[], of: (pid: number) => number): number {
  return pids.reduce((total, pid) => total + of(pid), 0);
}

/** The server's children that run aws-lambda-ric (runtime-pool.ts spawns them directly). */
function runtimePids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('aws-lambda-ric')) pids.push(Number(entry));
    } catch {
      // gone between readdir and read
    }
  }
  return pids;
}
