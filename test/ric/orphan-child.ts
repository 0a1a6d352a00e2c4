/**
 * For pool.test.ts: a process that starts a runtime pool (argv: task root, handler), prints its
 * runtime processes' ids, and waits to be killed, as `serverless offline` would be. It gives up by
 * itself after a minute, so that nothing outlives a test that failed to kill it.
 */
import { RuntimePool } from '../../local/runtime-pool';

const [taskRoot, handler] = process.argv.slice(2);
if (taskRoot === undefined || handler === undefined) throw new Error('usage: orphan-child.ts <task root> <handler>');
const pool = await RuntimePool.start({
  size: 2,
  fn: { name: 'orphan', timeoutSeconds: 5, memoryMb: 128 },
  taskRoot,
  handler,
  env: process.env,
  log: (message) => console.error(message),
  output: () => undefined,
});
console.log(JSON.stringify(pool.pids()));
setTimeout(() => void pool.stop().then(() => process.exit(1)), 60_000);
