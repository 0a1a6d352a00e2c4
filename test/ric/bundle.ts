import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../support/paths';

/**
 * A module of test/ric/ as one ES module for Node.js 22, the way serverless.yml has
 * serverless-esbuild bundle the deployed handler (ESM, `require` defined for bundled CommonJS).
 * Returns the folder (a task root: `<module>.<export>` names a handler), the file and a remover.
 */
export async function bundleForRuntime(
  module: 'handlers' | 'pool-handlers',
): Promise<{ taskRoot: string; file: string; remove: () => Promise<void> }> {
  const taskRoot = await mkdtemp(join(tmpdir(), `ric-${module}-`));
  const file = join(taskRoot, `${basename(module)}.mjs`);
  await build({
    entryPoints: [join(PROJECT_ROOT, 'test', 'ric', `${module}.ts`)],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return { taskRoot, file, remove: () => rm(taskRoot, { recursive: true, force: true }) };
}
