/** Median, min and max of repeated measurements, with the raw samples kept for the JSON. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [] };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples };
}

/** Percentile (0..100) of unsorted values, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Runs `measure` for every contender, round after round, in the order given (peers first, ours
 * last: peer, ours, peer, ours …), so that drift (page cache, thermal, other load) hits all of them
 * alike. Returns the samples per contender, index i of each from round i.
 */
export async function alternate<C extends string, M>(
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C, round: number) => Promise<M>,
  onSample?: (contender: C, round: number, value: M) => void,
): Promise<Record<C, M[]>> {
  const out = Object.fromEntries(contenders.map((c) => [c, [] as M[]])) as Record<C, M[]>;
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      const value = await measure(contender, round);
      out[contender].push(value);
      onSample?.(contender, round, value);
    }
  }
  return out;
}

/** Per-round ratios, so that a slow round of both contenders does not skew the ratio. */
export function ratios(ours: readonly number[], peer: readonly number[], better: 'higher' | 'lower'): number[] {
  const n = Math.min(ours.length, peer.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(better === 'higher' ? ours[i]! / peer[i]! : peer[i]! / ours[i]!);
  return out;
}
