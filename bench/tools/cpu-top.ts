/**
 * `node --import tsx bench/tools/cpu-top.ts PROFILE.cpuprofile [N]`: the N functions with the most
 * self time in a V8 CPU profile (from `node --cpu-prof`), and self time summed per file.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 25);
const files = args.filter((a) => !/^\d+$/.test(a));
if (files.length === 0) {
  console.error('usage: cpu-top.ts PROFILE.cpuprofile… [N]');
  process.exit(2);
}
// Under tsx, a second profile (its module-hooks thread) sits next to the main thread's: show each.
for (const file of files) top(file);

function top(file: string): void {
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'nm/').replace(/^.*\/(\.esbuild|bench-copy|main)\//, '');
const perFunction = new Map<string, number>();
const perFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const key = `${functionName || '(anonymous)'}  ${short(url)}${url ? `:${lineNumber + 1}` : ''}`;
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  const where = url ? short(url) : `(${functionName})`;
  perFile.set(where, (perFile.get(where) ?? 0) + us);
}
const show = (map: Map<string, number>, n: number) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`)
    .join('\n');
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nself time by function:\n${show(perFunction, count)}\n\nself time by file:\n${show(perFile, 15)}`);
}
