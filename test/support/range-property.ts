import { expect } from 'vitest';
import fc from 'fast-check';
import { serveStream, DEFAULT_SERVE_OPTIONS } from '../../core/serve';
import type { Storage } from '../../storage/types';
import { modelRangeAnswer } from './range-model';
import { collect, parseMultipart } from './http';

/**
 * The range property (test/unit/range.property.test.ts on an in-memory storage, and
 * test/backends/range.property.test.ts on both real backends): for random Range headers on files of
 * random sizes, the answer is exactly what a reference model of RFC 9110 §14 (range-model.ts)
 * selects, bytes included.
 */
const BOUNDARY = 'BOUNDARY0123456789';
const MAX_PARTS = 16;
const options = { ...DEFAULT_SERVE_OPTIONS, maxParts: MAX_PARTS, boundary: () => BOUNDARY };

const digits = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 90 }).map(String) },
  { weight: 3, arbitrary: fc.nat({ max: 2100 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '00', '007', '9007199254740993', '99999999999999999999', '9'.repeat(330)) },
);
const spec = fc.oneof(
  fc.tuple(digits, fc.option(digits, { nil: '' })).map(([a, b]) => `${a}-${b}`),
  digits.map((d) => `-${d}`),
  fc.constantFrom('', ' ', 'x', '-', '1-2-3', '5 -6', '+1-2'),
);
const ows = fc.constantFrom('', '', ' ', '\t', '  ');
const structured = fc
  .tuple(fc.constantFrom('bytes', 'BYTES', 'Bytes', 'bits', 'byte'), fc.array(fc.tuple(ows, spec, ows), { minLength: 0, maxLength: 24 }))
  .map(([unit, items]) => `${unit}=${items.map(([a, s, b]) => `${a}${s}${b}`).join(',')}`);
// A few narrow ranges in a larger file: the case where multipart is the answer.
const fewNarrow = fc
  .array(fc.tuple(fc.nat({ max: 1990 }), fc.nat({ max: 60 })), { minLength: 2, maxLength: 5 })
  .map((rs) => `bytes=${rs.map(([a, w]) => `${a}-${a + w}`).join(', ')}`);
// More parts than allowed, or parts that together cost more than the file.
const tooMany = fc
  .array(fc.nat({ max: 1990 }), { minLength: MAX_PARTS + 1, maxLength: 40 })
  .map((starts) => `bytes=${starts.map((a) => `${a}-${a}`).join(',')}`);
const wide = fc.tuple(fc.nat({ max: 200 }), fc.nat({ max: 200 })).map(([a, b]) => `bytes=0-${900 + a},${1000 + b}-`);
const header = fc.oneof(
  { weight: 6, arbitrary: structured },
  { weight: 2, arbitrary: fewNarrow },
  { weight: 1, arbitrary: tooMany },
  { weight: 1, arbitrary: wide },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

export function patterned(size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) % 256));
}

/** Length of the multipart framing RFC 9110 §14.6 prescribes around `runs`. */
function multipartLength(runs: ReadonlyArray<readonly [number, number]>, size: number): number {
  const heads = runs.map(
    ([s, e], i) => `${i === 0 ? '' : '\r\n'}--${BOUNDARY}\r\ncontent-type: video/mp4\r\ncontent-range: bytes ${s}-${e}/${size}\r\n\r\n`,
  );
  const bytes = runs.reduce((n, [s, e]) => n + e - s + 1, 0);
  return heads.join('').length + bytes + `\r\n--${BOUNDARY}--\r\n`.length;
}


/** A file of `size` bytes in some storage, under `name`; `check` runs after each answer. */
export interface RangeSubject {
  readonly storage: Storage;
  readonly name: string;
  readonly data: Buffer;
  readonly check?: () => void;
}

/** How often each kind of answer came up; each must, or the property proves less than it claims. */
export type RangeBranches = Record<'whole' | 'single' | 'multipart' | 'wholeInsteadOfParts' | 'unsatisfiable', number>;

export async function checkRangeAnswers(sizes: fc.Arbitrary<number>, subjectFor: (size: number) => Promise<RangeSubject>, numRuns: number): Promise<RangeBranches> {
  const seen: RangeBranches = { whole: 0, single: 0, multipart: 0, wholeInsteadOfParts: 0, unsatisfiable: 0 };
  await fc.assert(
    fc.asyncProperty(sizes, header, async (size, range) => {
      const { storage, name, data, check } = await subjectFor(size);
      const res = await serveStream({ method: 'GET', rawPath: `/api/stream/${encodeURIComponent(name)}`, rawQuery: '', headers: { range } }, storage, options);
      const body = await collect(res.body);
      const model = modelRangeAnswer(range, size);
      expect([200, 206, 416]).toContain(res.status);
      check?.();

      if (model.status === 416) {
        seen.unsatisfiable += 1;
        expect(res.status).toBe(416);
        expect(res.headers['content-range']).toBe(`bytes */${size}`);
        return;
      }
      const whole = () => {
        expect(res.status).toBe(200);
        expect(body.equals(data)).toBe(true);
      };
      if (model.status === 200) {
        seen.whole += 1;
        return whole();
      }
      if (model.runs.length === 1) {
        seen.single += 1;
        const [start, end] = model.runs[0] ?? [0, 0];
        expect(res.status).toBe(206);
        expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
        expect(body.equals(data.subarray(start, end + 1))).toBe(true);
        return;
      }
      // Several runs: multipart, or the whole file when that is not dearer (policy of core/plan.ts).
      if (model.runs.length > MAX_PARTS || multipartLength(model.runs, size) >= size) {
        seen.wholeInsteadOfParts += 1;
        return whole();
      }
      seen.multipart += 1;
      expect(res.status).toBe(206);
      expect(res.headers['content-type']).toBe(`multipart/byteranges; boundary=${BOUNDARY}`);
      expect(Number(res.headers['content-length'])).toBe(body.length);
      const parts = parseMultipart(body, BOUNDARY);
      expect(parts.map((p) => p.headers['content-range'])).toEqual(model.runs.map(([s, e]) => `bytes ${s}-${e}/${size}`));
      for (const [i, part] of parts.entries()) {
        const [s, e] = model.runs[i] ?? [0, 0];
        expect(part.headers['content-type']).toBe('video/mp4');
        expect(part.body.equals(data.subarray(s, e + 1))).toBe(true);
      }
    }),
    { numRuns },
  );
  return seen;
}
