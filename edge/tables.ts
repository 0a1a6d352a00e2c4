import type { TypeLookup } from '../core/content-type-rules';

/**
 * The two tables the edge brings instead of what its runtime lacks, made at build time from the
 * function's own sources (edge/build-tables.ts) so that they cannot disagree with it:
 * - the extensions whose mime-types type the function serves as itself, grouped by type;
 * - the ASCII fallback of a download's file name for the characters the table covers (the
 *   function uses String.prototype.normalize, which the runtime does not document).
 */
export interface EdgeTables {
  /**
   * `t/entry,entry…` per top-level type (abbreviated as TYPE_PREFIXES), joined by `;`; an entry
   * is `subtype:ext ext…`, or the subtype alone when it is its one extension; `vnd.` is `~`, `x-` is `!`.
   */
  readonly types: string;
  /** Code point ranges `[first, last]` the folds cover, in order. */
  readonly foldRanges: ReadonlyArray<readonly [number, number]>;
  /** The fold of each covered code point, in range order, joined by `,`; `fold*n` is n of them. */
  readonly folds: string;
}

export const TYPE_PREFIXES: Readonly<Record<string, string>> = { a: 'audio/', v: 'video/', i: 'image/', p: 'application/', t: 'text/' };

export function typeLookup(tables: EdgeTables): TypeLookup {
  return (extension) => {
    if (extension.indexOf(' ') !== -1) return false;
    for (const group of tables.types.split(';')) {
      for (const entry of group.slice(2).split(',')) {
        const [subtype = '', extensions = subtype] = entry.split('~').join('vnd.').split('!').join('x-').split(':');
        if ((' ' + extensions + ' ').indexOf(' ' + extension + ' ') !== -1) return (TYPE_PREFIXES[group.charAt(0)] ?? '') + subtype;
      }
    }
    return false;
  };
}

function expandFolds(folds: string): string[] {
  const out: string[] = [];
  for (const token of folds.split(',')) {
    const star = token.lastIndexOf('*');
    if (star === -1) out.push(token);
    else for (let n = Number(token.slice(star + 1)); n > 0; n -= 1) out.push(token.slice(0, star));
  }
  return out;
}

/** Whether the table folds every character of `filename` (ASCII always folds). */
export function canFold(foldRanges: EdgeTables['foldRanges'], filename: string): boolean {
  for (let i = 0; i < filename.length; i += 1) {
    const code = filename.codePointAt(i) ?? 0;
    if (code >= 0x80 && !foldRanges.some(([first, last]) => code >= first && code <= last)) return false;
  }
  return true;
}

/** The fold of one non-ASCII code point, or undefined when the table does not cover it. */
function foldOf(tables: EdgeTables, code: number, folds: readonly string[]): string | undefined {
  let offset = 0;
  for (const [first, last] of tables.foldRanges) {
    if (code >= first && code <= last) return folds[offset + code - first];
    offset += last - first + 1;
  }
  return undefined;
}

/** The ASCII fallback of `filename` as core/download-name.ts makes it, or undefined when the table cannot. */
export function asciiFallbackFrom(tables: EdgeTables, filename: string): string | undefined {
  const folds = expandFolds(tables.folds);
  let fallback = '';
  for (let i = 0; i < filename.length; i += 1) {
    const code = filename.codePointAt(i) ?? 0;
    if (code < 0x80) {
      fallback += code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c ? filename.charAt(i) : '_';
      continue;
    }
    const fold = foldOf(tables, code, folds);
    if (fold === undefined) return undefined;
    fallback += fold;
  }
  return fallback;
}
