import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { functionError, type FunctionError, type Invoke, type InvocationSink } from './invocation';
import { localContext, urlEventFromRequest } from './url-event';
import { PreludeDecoder, RuntimeResponseStream, type DecodedHead, type StreamingHandler } from './lambda-runtime';

/**
 * A local stand-in for a Function URL with InvokeMode RESPONSE_STREAM: every request becomes a
 * Function URL event, the function's answer arrives as the runtime's byte stream (prelude, then
 * body), and that stream is decoded into the HTTP response as it arrives, with backpressure from
 * the client all the way to the handler's source. Memory stays flat whatever the file size; the
 * first byte leaves before the file has been read.
 *
 * What runs the function is an Invoke (invocation.ts): `startUrlServer` runs the handler in this
 * process through the runtime emulation (lambda-runtime.ts); `LAMBDA_RUNTIME=ric` puts AWS's
 * runtime client behind the same front end (runtime-pool.ts).
 *
 * When the client goes away, Lambda lets the function run on (runtime client issue #145), and so
 * does the real runtime here (runtime-api.ts); the emulation stops the handler's pipeline at once,
 * which releases its file.
 */

export interface UrlFunction {
  readonly name: string;
  readonly handler: StreamingHandler;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface FunctionUrlOptions {
  readonly port: number;
  readonly host?: string;
  /**
   * Reported of real Function URLs: Content-Length from the prelude reaches the client as
   * x-amzn-remapped-content-length and the body is chunked. On, to prove nothing depends on it.
   */
  readonly remapContentLength?: boolean;
  readonly log?: (message: string) => void;
}

export interface UrlServerOptions extends FunctionUrlOptions {
  readonly fn: UrlFunction;
}

export interface RunningUrlServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

const defaultLog = (message: string) => console.error(message);

/** The front end with the handler run in this process by the runtime emulation. */
export function startUrlServer(options: UrlServerOptions): Promise<RunningUrlServer> {
  const log = options.log ?? defaultLog;
  return startFunctionUrl({ ...options, log }, options.fn.name, emulatedInvoke(options.fn, log));
}

/** The Function URL front end for one function, whatever runs it. */
export async function startFunctionUrl(options: FunctionUrlOptions, name: string, invoke: Invoke): Promise<RunningUrlServer> {
  const log = options.log ?? defaultLog;
  const remap = options.remapContentLength === true;
  const onError = (error: FunctionError) => log(`${name}: invocation failed: ${error.errorType}: ${error.errorMessage}`);
  const server = createServer((req, res) => {
    const invocation = invoke(urlEventFromRequest(req), responseSink(res, remap, onError));
    res.on('close', () => {
      if (!res.writableFinished) invocation.cancel();
    });
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

/**
 * What aws-lambda-ric 4.0.2 does when a handler destroys its response stream: its request to the
 * Runtime API fails with an unhandled rejection and the process exits (test/ric/conformance.test.ts),
 * which fails the invocation. A handler that wants to cut its answer throws instead.
 */
const HANDLER_DESTROYED: FunctionError = {
  errorType: 'Runtime.ExitError',
  errorMessage: 'the handler destroyed its response stream, which makes the runtime client exit',
};

/** Runs a streaming handler in this process, through the emulated runtime response stream. */
export function emulatedInvoke(fn: UrlFunction, log: (message: string) => void): Invoke {
  return (event, sink) => {
    // Whether the stream was destroyed on our side (client gone, timeout) rather than by the handler,
    // and whether any byte had left: what the real runtime would have sent before it exited.
    let ours = false;
    let sent = false;
    const responseStream = new RuntimeResponseStream({
      write(chunk, contentType, done) {
        sent ||= chunk.length > 0;
        sink.write(chunk, contentType, (error) => {
          if (error) ours = true;
          done(error);
        });
      },
      end: (contentType, done) => sink.end(contentType, done),
      abort(error) {
        if (!ours) {
          log(`${fn.name}: ${HANDLER_DESTROYED.errorMessage} under LAMBDA_RUNTIME=ric and in Lambda; throw to cut an answer`);
          if (!sent) return sink.fail(HANDLER_DESTROYED);
        }
        sink.abort(error);
      },
    });
    const stop = (reason: string) => {
      ours = true;
      responseStream.destroy(new Error(reason));
    };
    // Destroying the stream (client gone, timeout) emits 'error'; the handler may not be listening
    // yet (or any more), and an unheard 'error' would bring the whole server down.
    responseStream.on('error', () => undefined);
    const timer = setTimeout(() => {
      log(`${fn.name}: Task timed out after ${fn.timeoutSeconds} seconds`);
      stop('timed out');
    }, fn.timeoutSeconds * 1000);
    void runHandler(fn, event, responseStream, sink).finally(() => clearTimeout(timer));
    return { cancel: () => stop('client closed the connection') };
  };
}

async function runHandler(fn: UrlFunction, event: LambdaFunctionURLEvent, responseStream: RuntimeResponseStream, sink: InvocationSink) {
  try {
    await fn.handler(event, responseStream, localContext(fn.name, fn.timeoutSeconds, fn.memoryMb));
    // The runtime client waits for the response stream, not for the handler's promise: a handler
    // may resolve before it has finished writing, and one that never ends the stream times out.
    await finished(responseStream);
  } catch (error) {
    // A stream destroyed (by the handler, the client or the timeout) has already cut the response.
    if (!responseStream.destroyed) sink.fail(functionError(error));
  }
}

/**
 * The HTTP response made of one invocation's runtime byte stream: the prelude becomes the status
 * line and headers, the rest the body, written with backpressure (done waits for 'drain'). A
 * failure before anything was sent is a 502, as a Function URL answers; after, the response is cut,
 * so a client never takes a partial body for a complete one.
 */
export function responseSink(res: ServerResponse, remapContentLength: boolean, onError: (error: FunctionError) => void): InvocationSink {
  const decoder = new PreludeDecoder();
  // One of end, fail or abort settles the response; a second (an abort after a 502 was written)
  // must not cut what the first sent.
  let settled = false;
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
      // With the client gone (the invocation ran on), there is nothing left to send.
      if (!settled && !res.destroyed) {
        const head = decoder.finish(contentType);
        if (head) writeHead(head);
        res.end();
      }
      settled = true;
      done();
    },
    fail(error) {
      if (settled) return;
      settled = true;
      onError(error);
      if (res.destroyed) return;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal Server Error' }));
      } else {
        res.destroy();
      }
    },
    abort() {
      if (settled) return;
      settled = true;
      res.destroy();
    },
  };
}
