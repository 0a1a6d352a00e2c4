import { readFileSync, writeFileSync } from 'node:fs';

/** Resident memory of a process, from /proc (Linux). */
export function status(pid: number): { rssKb: number; hwmKb: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`, Linux 4.0+); false if not allowed. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface PeakResult {
  /** RSS before the load, MB (10^6 bytes). */
  readonly beforeMb: number;
  /** Peak RSS during the load, MB: VmHWM after a reset, or the highest 10 ms sample. */
  readonly peakMb: number;
  readonly source: 'VmHWM' | 'sampled VmRSS';
}

/** Peak RSS of `pid` while `load` runs: VmHWM reset before, and VmRSS sampled every 10 ms as well. */
export async function peakDuring(pid: number, load: () => Promise<void>): Promise<PeakResult> {
  const before = status(pid).rssKb;
  const reset = resetPeak(pid);
  let sampled = before;
  const sampler = setInterval(() => {
    try {
      sampled = Math.max(sampled, status(pid).rssKb);
    } catch {
      // The process is gone; the load fails and says why.
    }
  }, 10);
  try {
    await load();
  } finally {
    clearInterval(sampler);
  }
  const after = status(pid);
  sampled = Math.max(sampled, after.rssKb);
  const peakKb = reset ? Math.max(after.hwmKb, sampled) : sampled;
  return { beforeMb: (before * 1024) / 1e6, peakMb: (peakKb * 1024) / 1e6, source: reset ? 'VmHWM' : 'sampled VmRSS' };
}
