import { ratios, summarize } from './stats';
import type { Row } from './types';

/** A throughput row (higher is better) against one peer, with the ">= 0.9x peer" target. */
export function throughputRow(group: string, peer: string, id: string, label: string, unit: string, samples: { ours: number[] } & Record<string, number[]>): Row {
  const peerSamples = samples[peer] ?? [];
  const ratio = summarize(ratios(samples.ours, peerSamples, 'higher'));
  return {
    group,
    id,
    label,
    unit,
    better: 'higher',
    ratioMeaning: 'ours/peer',
    ours: summarize(samples.ours),
    peers: [{ name: peer, value: summarize(peerSamples), ratio }],
    targets: [{ peer, minRatio: 0.9, text: `>= 0.9x ${peer}`, pass: ratio.median >= 0.9 }],
  };
}
