import { readdirSync, readlinkSync } from 'node:fs';

/** Open file descriptors of a process (Linux /proc), with what each points at. */
export function openFds(pid: number | 'self' = 'self'): string[] {
  const dir = `/proc/${pid}/fd`;
  const targets: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      targets.push(readlinkSync(`${dir}/${fd}`));
    } catch {
      // closed between readdir and readlink
    }
  }
  return targets;
}

/** Descriptors of a process that point into `folder`. */
export function fdsUnder(folder: string, pid: number | 'self' = 'self'): string[] {
  return openFds(pid).filter((target) => target.startsWith(folder));
}

/** TCP sockets of a process: descriptors that are sockets. */
export function socketCount(pid: number | 'self' = 'self'): number {
  return openFds(pid).filter((target) => target.startsWith('socket:')).length;
}
