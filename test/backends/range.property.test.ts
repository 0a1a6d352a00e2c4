import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkRangeAnswers, patterned } from '../support/range-property';
import { startTwinBackends, type TwinBackends } from '../support/twin-backends';

/**
 * The range property of test/unit/range.property.test.ts, on both real backends: local disk, and
 * S3 on a real S3-compatible server, whose ranged GetObject, HeadObject and per-part reads are then
 * what the model's answers are made of. Files of fixed sizes (uploading one per run would cost
 * more than the run), chosen around the limits the generators aim at.
 */
const SIZES = [0, 1, 2, 3, 7, 10, 31, 64, 90, 100, 500, 999, 1000, 1001, 1500, 2000];
const RUNS = Number(process.env.RANGE_PROPERTY_RUNS ?? 1_500);
const nameOf = (size: number) => `size-${size}__1.mp4`;

let twins: TwinBackends;
beforeAll(async () => {
  twins = await startTwinBackends(Object.fromEntries(SIZES.map((size) => [nameOf(size), patterned(size)])));
}, 60_000);
afterAll(async () => {
  await twins?.stop();
});

describe.each(['local', 's3'] as const)('range answers against a reference model, %s backend (property)', (which) => {
  it(`answers ${RUNS} random Range headers with exactly the bytes the model selects`, async () => {
    const { storage } = twins[which];
    const seen = await checkRangeAnswers(fc.constantFrom(...SIZES), async (size) => ({ storage, name: nameOf(size), data: patterned(size) }), RUNS);
    console.info(`range property (${which}): ${RUNS} runs`, seen);
    for (const [branch, count] of Object.entries(seen)) expect(count, branch).toBeGreaterThan(RUNS / 150);
  }, 600_000);
});
