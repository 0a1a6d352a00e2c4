import type { Summary } from './stats';
import type { Background } from './background';
import type { Row } from './types';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly nginx: string;
}

export interface Report {
  readonly date: string;
  readonly profile: string;
  readonly machine: Machine;
  readonly commands: readonly string[];
  readonly durationSeconds: number;
  readonly background: Background;
  readonly rows: readonly Row[];
  readonly errors: readonly string[];
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function spread(s: Summary): string {
  return s.samples.length > 1 ? `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]` : fmt(s.median);
}

function ratioText(s: Summary): string {
  return s.samples.length > 1 ? `${s.median.toFixed(2)}x [${s.min.toFixed(2)}–${s.max.toFixed(2)}]` : `${s.median.toFixed(2)}x`;
}

const HEADER = ['group', 'metric', 'unit', 'ours (median [min–max])', 'peer', 'peer (median [min–max])', 'ratio', 'ratio (median [min–max])', 'target', 'ok'];

/** One line per (row, peer); targets that are not about a peer go on the first line. */
function lines(rows: readonly Row[]): string[][] {
  const out: string[][] = [];
  for (const row of rows) {
    // A row with no peer (a count, a size) still gets its line, with its targets.
    if (row.peers.length === 0) {
      out.push([row.group, row.label, row.unit, spread(row.ours), '-', '-', '-', '-', row.targets.map((t) => t.text).join(', '), row.targets.length === 0 ? '' : row.targets.every((t) => t.pass) ? 'yes' : 'NO']);
    }
    row.peers.forEach((peer, index) => {
      const targets = row.targets.filter((t) => t.peer === peer.name || (t.peer === undefined && index === 0));
      out.push([
        index === 0 ? row.group : '',
        index === 0 ? row.label : '',
        index === 0 ? row.unit : '',
        index === 0 ? spread(row.ours) : '',
        peer.name,
        spread(peer.value),
        row.ratioMeaning,
        ratioText(peer.ratio),
        targets.map((t) => t.text).join(', '),
        targets.length === 0 ? '' : targets.every((t) => t.pass) ? 'yes' : 'NO',
      ]);
    });
  }
  return out;
}

function header(report: Report): string[] {
  const m = report.machine;
  const b = report.background;
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const busy = b.otherCpuShare > 0.1 || (b.loadAverageAtStart[0] ?? 0) > m.cores / 2;
  return [
    `date: ${report.date}  profile: ${report.profile}  duration: ${report.durationSeconds.toFixed(0)} s`,
    `machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGiB.toFixed(0)} GiB RAM, Linux ${m.kernel}; Node.js ${m.node}; ${m.nginx}`,
    `other work on the machine: ${fmt(b.otherCpuSeconds)} CPU-seconds by other processes (${(100 * b.otherCpuShare).toFixed(0)}% of all cores over the run); load average at start ${load(b.loadAverageAtStart)}, at end ${load(b.loadAverageAtEnd)}${busy ? '  <- BUSY: expect noisy figures' : ''}`,
  ];
}

export function toText(report: Report): string {
  const table = [HEADER, ...lines(report.rows)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const render = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const notes = report.rows.filter((r) => r.note).map((r) => `note (${r.id}): ${r.note}`);
  return [
    ...header(report),
    'commands:',
    ...report.commands.map((c) => `  ${c}`),
    '',
    render(table[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(render),
    ...notes,
    ...report.errors.map((e) => `ERROR: ${e}`),
    '',
  ].join('\n');
}

export function toMarkdown(report: Report): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const row = (cells: string[]) => `| ${cells.map(escape).join(' | ')} |`;
  const notes = report.rows.filter((r) => r.note).map((r) => `- ${r.id}: ${r.note}`);
  return [
    `# Benchmark (${report.profile})`,
    '',
    ...header(report).map((l) => `${l}  `),
    '',
    'Commands:',
    '',
    ...report.commands.map((c) => `- ${c}`),
    '',
    'Every figure is the median [min–max] of alternating rounds (peers then ours, each round); ratios are per round.',
    '',
    row(HEADER),
    row(HEADER.map(() => '---')),
    ...lines(report.rows).map(row),
    '',
    ...notes,
    ...report.errors.map((e) => `- **error**: ${e}`),
    '',
  ].join('\n');
}
