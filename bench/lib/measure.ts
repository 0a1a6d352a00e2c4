/** The two timed loops every throughput row runs, for one contender in one round. */

/** MB/s over `repeats` sequential runs of `once`, each returning the bytes it moved. */
export async function megabytesPerSecond(repeats: number, once: () => Promise<number>): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < repeats; i++) bytes += await once();
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

/** Requests per second of sequential `once` calls, for `ms` or at most `maxRequests`. */
export async function requestsPerSecond(ms: number, maxRequests: number, once: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const until = started + ms;
  let count = 0;
  while (performance.now() < until && count < maxRequests) {
    await once();
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}
