import { readdirSync, readlinkSync } from 'node:fs';

type Pids = number | 'self' | readonly number[];

/** Open file descriptors of processes (Linux /proc), with what each points at. */
export function openFds(pids: Pids = 'self'): string[] {
  const targets: string[] = [];
  for (const pid of typeof pids === 'object' ? pids : [pids]) {
    const dir = `/proc/${pid}/fd`;
    let fds: string[];
    try {
      fds = readdirSync(dir);
    } catch (error) {
      // A runtime process that exited since it was listed (the pool replaces it); anything else is news.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const fd of fds) {
      try {
        targets.push(readlinkSync(`${dir}/${fd}`));
      } catch {
        // closed between readdir and readlink
      }
    }
  }
  return targets;
}

/** Descriptors of processes that point into `folder`. */
export function fdsUnder(folder: string, pids: Pids = 'self'): string[] {
  return openFds(pids).filter((target) => target.startsWith(folder));
}

/** TCP sockets of processes: descriptors that are sockets. */
export function socketCount(pids: Pids = 'self'): number {
  return openFds(pids).filter((target) => target.startsWith('socket:')).length;
}
