/**
 * The same serving path as `npm start` (local/url-server.ts, the runtime emulation, the handler of
 * handlers/stream.ts) in a plain Node.js process, without osls, serverless-offline and esbuild.
 * Bundled by esbuild (bench/lib/servers.ts) and run by plain node. Only for the memory rows: it shows what the streaming path itself keeps resident, apart from the
 * ~300 MB that the serverless framework process holds before any request.
 */
import type { AddressInfo } from 'node:net';
import { installRuntimeGlobal, isStreamingHandler } from '../../local/lambda-runtime';
import { startUrlServer } from '../../local/url-server';

if (!process.env.DOWNLOADS_DIR) throw new Error('DOWNLOADS_DIR is not set');
process.env.STORAGE = 'local';
installRuntimeGlobal();
const { handler } = (await import('../../handlers/stream')) as { handler?: unknown };
if (!isStreamingHandler(handler)) throw new Error('handlers/stream.ts does not export a streaming handler');

const server = await startUrlServer({
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  fn: { name: 'stream', handler, timeoutSeconds: 900, memoryMb: 512 },
});
const { port } = server.server.address() as AddressInfo;
// On stderr: stdout is the access log (bench/lib/servers.ts).
console.error(`lean-url-server listening on http://127.0.0.1:${port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
