import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localContext, urlEventFromRequest } from './url-event';
import { PreludeDecoder, RuntimeResponseStream, type ByteSink, type DecodedHead, type StreamingHandler } from './lambda-runtime';

/**
 * A local stand-in for a Function URL with InvokeMode RESPONSE_STREAM: every request becomes a
 * Function URL event, the streaming handler writes into an emulated runtime response stream, and
 * the bytes it writes are decoded (prelude, then body) into the HTTP response as they arrive, with
 * backpressure from the client all the way to the handler's source. Memory stays flat whatever the
 * file size; the first byte leaves before the file has been read.
 *
 * One deliberate difference from Lambda: when the client goes away, Lambda lets the function run on
 * (runtime client issue #145); here the response stream is destroyed, so the handler's pipeline
 * stops and releases its file at once.
 */

export interface UrlFunction {
  readonly name: string;
  readonly handler: StreamingHandler;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface UrlServerOptions {
  readonly port: number;
  readonly host?: string;
  readonly fn: UrlFunction;
  /**
   * Reported of real Function URLs: Content-Length from the prelude reaches the client as
   * x-amzn-remapped-content-length and the body is chunked. On, to prove nothing depends on it.
   */
  readonly remapContentLength?: boolean;
  readonly log?: (message: string) => void;
}

export interface RunningUrlServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export async function startUrlServer(options: UrlServerOptions): Promise<RunningUrlServer> {
  const log = options.log ?? ((message: string) => console.error(message));
  const server = createServer((req, res) => {
    void invoke(options, req, res, log);
  });
  // Requests Node's parser refuses (raw spaces or control characters in the target, headers over
  // 16 KB) never reach the function; answer them in the endpoint's JSON shape all the same.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (error as { bytesParsed?: number }).bytesParsed === 0) {
      socket.destroy();
      return;
    }
    const [status, reason] = error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
    const body = JSON.stringify({ detail: reason });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function invoke(options: UrlServerOptions, req: IncomingMessage, res: ServerResponse, log: (m: string) => void) {
  const { fn } = options;
  const responseStream = new RuntimeResponseStream(responseSink(res, options.remapContentLength === true));
  // Destroying the stream (client gone, timeout) emits 'error'; the handler may not be listening
  // yet (or any more), and an unheard 'error' would bring the whole server down.
  responseStream.on('error', () => undefined);
  res.on('close', () => {
    if (!res.writableFinished) responseStream.destroy(new Error('client closed the connection'));
  });
  const timer = setTimeout(() => {
    log(`${fn.name}: Task timed out after ${fn.timeoutSeconds} seconds`);
    responseStream.destroy(new Error('timed out'));
  }, fn.timeoutSeconds * 1000);
  try {
    await fn.handler(urlEventFromRequest(req), responseStream, localContext(fn.name, fn.timeoutSeconds, fn.memoryMb));
    if (!responseStream.writableFinished && !responseStream.destroyed) {
      log(`${fn.name}: Response stream is not finished`);
      responseStream.destroy(new Error('response stream is not finished'));
    }
  } catch (error) {
    if (!res.destroyed) log(`${fn.name}: invocation failed: ${error instanceof Error ? error.message : String(error)}`);
    if (!res.headersSent && !res.destroyed) {
      // What a Function URL answers when the function fails before streaming anything.
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal Server Error' }));
    } else {
      res.destroy();
    }
  } finally {
    clearTimeout(timer);
  }
}

function responseSink(res: ServerResponse, remapContentLength: boolean): ByteSink {
  const decoder = new PreludeDecoder();
  const writeHead = (head: DecodedHead) => {
    const headers: Record<string, string | string[]> = { ...head.headers };
    if (remapContentLength && headers['content-length'] !== undefined) {
      headers['x-amzn-remapped-content-length'] = headers['content-length'];
      delete headers['content-length'];
    }
    if (head.cookies.length > 0) headers['set-cookie'] = [...head.cookies];
    res.writeHead(head.statusCode, headers);
  };
  return {
    write(chunk, contentType, done) {
      let decoded: ReturnType<PreludeDecoder['push']>;
      try {
        decoded = decoder.push(chunk, contentType);
      } catch (error) {
        done(error as Error);
        return;
      }
      if (decoded.head) writeHead(decoded.head);
      if (decoded.body === undefined || decoded.body.length === 0 || res.destroyed) {
        done(res.destroyed ? new Error('client closed the connection') : null);
        return;
      }
      if (res.write(decoded.body)) {
        done();
        return;
      }
      const settle = (error?: Error) => {
        res.off('drain', onDrain);
        res.off('close', onClose);
        done(error ?? null);
      };
      const onDrain = () => settle();
      const onClose = () => settle(new Error('client closed the connection'));
      res.on('drain', onDrain);
      res.on('close', onClose);
    },
    end(contentType, done) {
      const head = decoder.finish(contentType);
      if (head) writeHead(head);
      res.end();
      done();
    },
    abort() {
      // Cut the response: a client must never take a partial body for a complete one.
      res.destroy();
    },
  };
}
