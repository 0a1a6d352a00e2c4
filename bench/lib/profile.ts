/** Sizes, rounds and durations of a run: the full one, or the CI smoke run (`--quick`). */
export interface Profile {
  readonly name: 'full' | 'quick';
  /** Alternating rounds per comparison (each contender measured once per round). */
  readonly rounds: number;
  /** The big file: random ranges (page cache warm). */
  readonly bigSize: number;
  /**
   * The file read whole (in process, over HTTP, memory): the largest the handler sends whole.
   * Since core/plan.ts's MAX_RESPONSE_BYTES (190 MiB; Lambda streams at most 200 MB per response),
   * a larger one is answered 413, so the 1 GiB and 256 MiB whole-file figures of issue 6 are
   * measured on 190 MiB.
   */
  readonly wholeSize: number;
  /** The small file of the memory comparison. */
  readonly smallSize: number;
  readonly rangeSize: number;
  /** In-process random ranges: one round lasts this long (or rangeRequestsMax requests). */
  readonly inProcessRangeMs: number;
  readonly inProcessRangeMaxRequests: number;
  /** HTTP random ranges: clients and seconds per round. */
  readonly loadConnections: number;
  readonly loadSeconds: number;
  /** Sequential bytes=0-1 requests per round (after ttfbWarmup unmeasured ones), and rounds: cheap, and the noisiest figure. */
  readonly ttfbRequests: number;
  readonly ttfbRounds: number;
  readonly ttfbWarmup: number;
  /** Memory: clients streaming the whole file at once, clients aborting mid-stream. */
  readonly memoryWholeClients: number;
  readonly memoryAbortClients: number;
  readonly memoryRounds: number;
  /**
   * S3 (Swift, bench/groups/s3.ts): the object of the random ranges (the first bytes of the big
   * file; the whole-object rows read `wholeSize`, for the same 200 MB limit), the alternating
   * rounds, how long one round of ranges lasts, how many times one whole-object sample reads the
   * object, and how many client requests of each kind the S3-request counts are taken on.
   */
  readonly s3BigSize: number;
  readonly s3Rounds: number;
  readonly s3RangeMs: number;
  readonly s3WholeRepeats: number;
  readonly s3CountRequests: number;
  /** Cold start (bench/groups/cold-start.ts): rounds of fresh node processes, one per contender each. */
  readonly coldStartRounds: number;
  /**
   * Under the real runtime client (bench/groups/ric.ts): the file served (local disk and S3), the
   * window, the alternating rounds, and how many invocations one round of each row makes.
   */
  readonly ricFileSize: number;
  readonly ricWindow: number;
  readonly ricRounds: number;
  readonly ricWindowInvocations: number;
  readonly ricWholeInvocations: number;
  readonly ricS3WindowInvocations: number;
  readonly ricS3WholeInvocations: number;
  /** Unmeasured window invocations of each runtime before the rounds (JIT; one whole-file invocation follows). */
  readonly ricWarmup: number;
  /** Every single measurement is cut off after this long (a bound, not a goal). */
  readonly measurementTimeoutMs: number;
  /** The whole run is aborted after this long. */
  readonly deadlineMs: number;
}

const MiB = 1024 * 1024;

export const FULL: Profile = {
  name: 'full',
  rounds: 5,
  bigSize: 1024 * MiB,
  wholeSize: 190 * MiB,
  smallSize: 10 * MiB,
  rangeSize: MiB,
  inProcessRangeMs: 2_000,
  inProcessRangeMaxRequests: 100_000,
  loadConnections: 16,
  loadSeconds: 10,
  ttfbRequests: 500,
  ttfbRounds: 9,
  ttfbWarmup: 20,
  memoryWholeClients: 16,
  memoryAbortClients: 100,
  memoryRounds: 5,
  s3BigSize: 256 * MiB,
  s3Rounds: 7,
  s3RangeMs: 2_000,
  s3WholeRepeats: 2,
  s3CountRequests: 5,
  coldStartRounds: 15,
  ricFileSize: 64 * MiB,
  ricWindow: 4 * MiB,
  ricRounds: 7,
  ricWindowInvocations: 40,
  ricWholeInvocations: 6,
  ricS3WindowInvocations: 12,
  ricS3WholeInvocations: 3,
  ricWarmup: 30,
  measurementTimeoutMs: 120_000,
  // The goal is under 10 minutes; this is the hard stop.
  deadlineMs: 14 * 60_000,
};

export const QUICK: Profile = {
  name: 'quick',
  rounds: 1,
  bigSize: 32 * MiB,
  wholeSize: 16 * MiB,
  smallSize: 2 * MiB,
  rangeSize: MiB,
  inProcessRangeMs: 300,
  inProcessRangeMaxRequests: 10_000,
  loadConnections: 16,
  loadSeconds: 1,
  ttfbRequests: 30,
  ttfbRounds: 1,
  ttfbWarmup: 5,
  memoryWholeClients: 16,
  memoryAbortClients: 20,
  memoryRounds: 1,
  s3BigSize: 32 * MiB,
  s3Rounds: 5,
  s3RangeMs: 300,
  s3WholeRepeats: 4,
  s3CountRequests: 5,
  coldStartRounds: 5,
  ricFileSize: 16 * MiB,
  ricWindow: 4 * MiB,
  ricRounds: 1,
  ricWindowInvocations: 4,
  ricWholeInvocations: 2,
  ricS3WindowInvocations: 3,
  ricS3WholeInvocations: 1,
  ricWarmup: 3,
  measurementTimeoutMs: 20_000,
  // The goal is under a minute; this is the hard stop.
  deadlineMs: 90_000,
};

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes} B`;
}
