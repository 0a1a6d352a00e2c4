import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { memoryStorage } from '../support/memory-storage';
import { checkRangeAnswers, patterned } from '../support/range-property';

describe('range answers against a reference model (property)', () => {
  it('never throws, answers 200/206/416, and sends exactly the bytes the model selects', async () => {
    const sizes = fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 2000 }));
    const seen = await checkRangeAnswers(
      sizes,
      async (size) => {
        const data = patterned(size);
        const { storage, stats } = memoryStorage({ 'v.mp4': data });
        return { storage, name: 'v.mp4', data, check: () => expect(stats.closes).toBe(stats.opens) };
      },
      3000,
    );
    // The generators must reach every branch, or the property proves less than it claims.
    for (const [branch, count] of Object.entries(seen)) expect(count, branch).toBeGreaterThan(20);
  });
});
