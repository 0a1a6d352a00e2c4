import type { Summary } from './stats';
import type { Cleanup } from './cleanup';
import type { BenchFiles } from './data';
import type { Profile } from './profile';

/** One contender measured against ours in the same rounds. */
export interface PeerResult {
  readonly name: string;
  readonly value: Summary;
  /** Per-round ratio, as Row.ratioMeaning says (summarized over the rounds). */
  readonly ratio: Summary;
}

export interface Target {
  /** The peer the ratio target is against (its name in `peers`), if the target is a ratio. */
  readonly peer?: string;
  /** Bounds of the peer's median ratio. */
  readonly minRatio?: number;
  readonly maxRatio?: number;
  /** Maximum of ours' median (e.g. memory in MB). */
  readonly maxValue?: number;
  readonly text: string;
  readonly pass: boolean;
}

export interface Row {
  readonly group: string;
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly ours: Summary;
  readonly peers: readonly PeerResult[];
  /**
   * What the ratios are. Throughputs: ours/peer; latencies: peer/ours (so that above 1 is better
   * for ours in both); memory: ours at 1 GiB / ours at 10 MiB (below 1.1 is flat).
   */
  readonly ratioMeaning: string;
  readonly targets: readonly Target[];
  readonly note?: string;
}

export interface BenchContext {
  readonly profile: Profile;
  readonly files: BenchFiles;
  readonly cleanup: Cleanup;
  readonly log: (message: string) => void;
  /** Aborted on SIGINT/SIGTERM or the global deadline: groups stop between measurements. */
  readonly signal: AbortSignal;
}

/**
 * A group of rows (local in-process, local over HTTP, local memory; later S3 …). A new backend's
 * rows are a new BenchGroup added to the list in run.ts.
 */
export interface BenchGroup {
  /** For `--only=id,…`. */
  readonly id: string;
  readonly name: string;
  /** Whether it uses the run's shared S3-compatible server (bench/lib/s3-server.ts). */
  readonly usesS3?: boolean;
  /** Commands or setup worth printing with the table (peer servers, client tools). */
  readonly describe: (profile: Profile) => readonly string[];
  run(context: BenchContext): Promise<Row[]>;
}
