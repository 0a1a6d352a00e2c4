import { types } from 'mime-types';
import { SERVED_AS_IS } from '../core/content-type-rules';
import { asciiFallback } from '../core/download-name';
import { TYPE_PREFIXES, type EdgeTables } from './tables';

/**
 * Latin-1 Supplement, Latin Extended-A and -B (accented letters of the languages the titles are
 * in) and the combining diacritics (names written decomposed, as macOS does). A download whose
 * title has other characters is sent to the function, which has normalize (edge/viewer-request.ts).
 */
export const FOLD_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0xa0, 0x24f],
  [0x300, 0x36f],
];

/** Made at build time from the function's own table and fold; the formats are edge/tables.ts's. */
export function buildTables(): EdgeTables {
  const groups = new Map<string, string[]>();
  for (const [extension, type] of Object.entries(types)) {
    if (!SERVED_AS_IS.test(type)) continue;
    groups.set(type, [...(groups.get(type) ?? []), extension]);
  }
  const byTop = new Map<string, string[]>();
  for (const [type, extensions] of groups) {
    const prefix = Object.entries(TYPE_PREFIXES).find(([, top]) => type.startsWith(top));
    if (prefix === undefined) throw new Error(`no abbreviation for the top-level type of ${type}`);
    const subtype = type.slice(prefix[1].length);
    if (/[~!,;:]/.test(subtype) || extensions.some((e) => /[~!,;: ]/.test(e))) throw new Error(`${type} has a character the table uses`);
    const entry = extensions.length === 1 && extensions[0] === subtype ? subtype : `${subtype}:${extensions.join(' ')}`;
    byTop.set(prefix[0], [...(byTop.get(prefix[0]) ?? []), abbreviate(entry)]);
  }
  const folds: string[] = [];
  for (const [first, last] of FOLD_RANGES) {
    for (let code = first; code <= last; code += 1) {
      const fold = asciiFallback(String.fromCodePoint(code));
      if (/[,*]/.test(fold)) throw new Error(`the fold of U+${code.toString(16)} has a character the table uses`);
      folds.push(fold);
    }
  }
  return {
    types: [...byTop].map(([top, entries]) => `${top}/${entries.join(',')}`).join(';'),
    foldRanges: FOLD_RANGES,
    folds: runs(folds).join(','),
  };
}

function abbreviate(entry: string): string {
  return entry.replace(/vnd\./g, '~').replace(/x-/g, '!');
}

/** Three or more equal folds in a row as `fold*count`. */
function runs(folds: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < folds.length; ) {
    let j = i;
    while (j < folds.length && folds[j] === folds[i]) j += 1;
    const fold = folds[i] ?? '';
    out.push(...(j - i > 2 ? [`${fold}*${j - i}`] : folds.slice(i, j)));
    i = j;
  }
  return out;
}
