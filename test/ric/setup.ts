import { ricInstalled } from '../../local/ric';

/** The ric project needs local/ric installed (Node.js 22 and aws-lambda-ric with its native addon). */
export default function setup() {
  if (!ricInstalled()) throw new Error('local/ric is not installed: run `node scripts/ensure-ric.mjs` (npm test does)');
}
