/**
 * The child of test/support/handler-process.ts: the handler of handlers/stream.ts behind the
 * Function URL front end, initialised with this process's environment (a cold start). It prints
 * nothing of its own on stdout, which is the function's (the access log); the address goes to the
 * parent over IPC. When the parent disconnects it stops listening and lets the process end by
 * itself, so every invocation finishes (and writes its log line) before the exit.
 */
import { installRuntimeGlobal, isStreamingHandler } from '../../local/lambda-runtime';
import { startUrlServer } from '../../local/url-server';

installRuntimeGlobal();
const { handler } = (await import('../../handlers/stream')) as { handler?: unknown };
if (!isStreamingHandler(handler)) throw new Error('handlers/stream.ts does not export a streaming handler');
const server = await startUrlServer({
  port: 0,
  fn: { name: 'stream', handler, timeoutSeconds: 30, memoryMb: 512 },
  log: (message) => console.error(message),
});
process.once('disconnect', () => void server.close());
process.send?.({ url: server.url });
