/**
 * A reference model of what a Range header selects, written independently of core/range.ts: one
 * regular expression for the grammar, BigInt for the numbers, and a per-byte coverage map instead
 * of interval arithmetic. Small files only.
 */

export type ModelAnswer =
  | { readonly status: 200 }
  | { readonly status: 416 }
  /** Maximal runs of selected bytes, ordered by the first spec that selected a byte of each. */
  | { readonly status: 206; readonly runs: ReadonlyArray<readonly [number, number]> };

const ELEMENT = /^(?:(\d+)-(\d*)|-(\d+))$/;

export function modelRangeAnswer(header: string | undefined, size: number): ModelAnswer {
  if (header === undefined) return { status: 200 };
  const field = header.trim();
  const eq = field.indexOf('=');
  if (eq < 0 || field.slice(0, eq).toLowerCase() !== 'bytes') return { status: 200 };
  const elements = field
    .slice(eq + 1)
    .split(',')
    .map((e) => e.replace(/^[ \t]*/, '').replace(/[ \t]*$/, ''))
    .filter((e) => e !== '');
  if (elements.length === 0) return { status: 200 };

  const n = BigInt(size);
  const owner = new Array<number>(size).fill(-1);
  let anySatisfiable = false;
  let suffixOnEmpty = false;
  for (const [index, element] of elements.entries()) {
    const m = ELEMENT.exec(element);
    if (!m) return { status: 200 };
    let from: bigint;
    let to: bigint;
    if (m[3] !== undefined) {
      const length = BigInt(m[3]);
      if (length === 0n) continue;
      if (n === 0n) {
        suffixOnEmpty = true;
        continue;
      }
      from = length >= n ? 0n : n - length;
      to = n - 1n;
    } else {
      from = BigInt(m[1] ?? '');
      const last = m[2] === '' ? undefined : BigInt(m[2] ?? '');
      if (last !== undefined && last < from) return { status: 200 };
      if (from >= n) continue;
      to = last === undefined || last >= n ? n - 1n : last;
    }
    anySatisfiable = true;
    for (let i = Number(from); i <= Number(to); i += 1) if (owner[i] === -1) owner[i] = index;
  }
  if (!anySatisfiable) return suffixOnEmpty ? { status: 200 } : { status: 416 };

  const runs: Array<{ run: [number, number]; first: number }> = [];
  for (let i = 0; i < size; i += 1) {
    const who = owner[i] ?? -1;
    if (who === -1) continue;
    const last = runs[runs.length - 1];
    if (last && last.run[1] === i - 1) {
      last.run[1] = i;
      last.first = Math.min(last.first, who);
    } else {
      runs.push({ run: [i, i], first: who });
    }
  }
  runs.sort((a, b) => a.first - b.first);
  return { status: 206, runs: runs.map((r) => r.run) };
}
