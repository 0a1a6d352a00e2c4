import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/**
 * How busy the machine was with other work during the run: every figure of a shared machine is
 * noisier when it was. CPU time of the whole machine (/proc/stat) minus that of this process and
 * its reaped children (/proc/self/stat: utime, stime, cutime, cstime), in core-seconds.
 */
export interface Background {
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd: readonly number[];
  /** CPU time used by other processes, core-seconds, and as a share of all cores over the run. */
  readonly otherCpuSeconds: number;
  readonly otherCpuShare: number;
}

const TICKS = 100; // USER_HZ on Linux

function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  return fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
}

function ownTicks(): number {
  const after = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // Fields 14-17 of stat (utime stime cutime cstime) are 12-15 after the command.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(after[i]), 0);
}

export function startBackground(): () => Background {
  const loadAverageAtStart = loadavg();
  let machine0 = 0;
  let own0 = 0;
  let readable = true;
  try {
    machine0 = machineBusyTicks();
    own0 = ownTicks();
  } catch {
    readable = false;
  }
  const started = Date.now();
  return () => {
    const seconds = (Date.now() - started) / 1000;
    let other = Number.NaN;
    if (readable) {
      try {
        other = Math.max(0, machineBusyTicks() - machine0 - (ownTicks() - own0)) / TICKS;
      } catch {
        // stays NaN
      }
    }
    return { loadAverageAtStart, loadAverageAtEnd: loadavg(), otherCpuSeconds: other, otherCpuShare: other / (seconds * cpus().length) };
  };
}
