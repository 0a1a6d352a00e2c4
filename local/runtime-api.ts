import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionError, InvocationSink } from './invocation';

/**
 * The Lambda Runtime API (version 2018-06-01, as AWS documents it in "Using the Lambda runtime API
 * for custom runtimes") for one execution environment, i.e. one runtime process: Lambda gives each
 * environment its own endpoint, and so does runtime-pool.ts. It serves
 *
 *   GET  /2018-06-01/runtime/invocation/next            the next event, with the Lambda-Runtime-* headers
 *   POST /2018-06-01/runtime/invocation/{id}/response   the answer; streamed by streaming handlers
 *                                                       (Lambda-Runtime-Function-Response-Mode: streaming,
 *                                                       chunked, errors in the Lambda-Runtime-Function-Error-*
 *                                                       trailers), passed on to the sink as it arrives
 *   POST /2018-06-01/runtime/invocation/{id}/error      a buffered handler's error
 *   POST /2018-06-01/runtime/init/error                 the module failed to load
 *
 * and nothing else. Events are handed out only when the runtime is idle: asked for /next and done
 * with its previous invocation. Deadlines are not enforced here: the pool kills a runtime that
 * overruns, as Lambda does.
 */

export interface InvocationRequest {
  readonly requestId: string;
  readonly event: unknown;
  readonly deadlineMs: number;
  readonly functionArn: string;
  readonly traceId: string;
  readonly sink: InvocationSink;
}

export interface RuntimeApiEvents {
  /** The runtime waits for an event: its init is done, or its last invocation is over. */
  onIdle(): void;
  /** The runtime reported that its init failed (it exits after). */
  onInitError(error: FunctionError): void;
}

const NEXT = '/2018-06-01/runtime/invocation/next';
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const INVOCATION = /^\/2018-06-01\/runtime\/invocation\/([^/?]+)\/(response|error)$/;
const ERROR_TYPE = 'lambda-runtime-function-error-type';
const ERROR_BODY = 'lambda-runtime-function-error-body';
// Buffered answers and error reports: Lambda's limit for a buffered response.
const MAX_JSON_BYTES = 6 * 1024 * 1024;
/**
 * The runtime client sends an error's trailers without waiting for them to leave, and asks for the
 * next event on another connection: a /next may overtake the response POST it follows. How long
 * that POST may still take to arrive before the invocation counts as answered with nothing.
 */
const LATE_RESPONSE_MS = 1000;

interface Open {
  readonly request: InvocationRequest;
  /** The response POST, once it has arrived. */
  response?: IncomingMessage;
  /** The client has gone: what the runtime still sends is read and dropped. */
  discarding: boolean;
  late?: NodeJS.Timeout;
}

export class RuntimeApi {
  readonly #server: Server;
  readonly #events: RuntimeApiEvents;
  #next: ServerResponse | undefined;
  #open: Open | undefined;

  private constructor(server: Server, events: RuntimeApiEvents) {
    this.#server = server;
    this.#events = events;
  }

  static async start(events: RuntimeApiEvents): Promise<RuntimeApi> {
    const server = createServer();
    const api = new RuntimeApi(server, events);
    server.on('request', (req, res) => api.#route(req, res));
    // The runtime's connections are ours, on loopback. Node's request timeouts would cut a response
    // streamed for minutes, or one whose first write (which sends its headers) comes late; the pool
    // enforces the deadline.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return api;
  }

  /** host:port, as AWS_LAMBDA_RUNTIME_API takes it. */
  get address(): string {
    const { address, port } = this.#server.address() as AddressInfo;
    return `${address}:${port}`;
  }

  get idle(): boolean {
    return this.#next !== undefined && this.#open === undefined;
  }

  /** Answers the runtime's pending /next with this event; only when idle. */
  invoke(request: InvocationRequest): void {
    const next = this.#next;
    if (next === undefined || this.#open !== undefined) throw new Error('the runtime is not waiting for an event');
    this.#next = undefined;
    this.#open = { request, discarding: false };
    next
      .writeHead(200, {
        'Content-Type': 'application/json',
        // As every answer here (see reply).
        Connection: 'close',
        'Lambda-Runtime-Aws-Request-Id': request.requestId,
        'Lambda-Runtime-Deadline-Ms': String(request.deadlineMs),
        'Lambda-Runtime-Invoked-Function-Arn': request.functionArn,
        'Lambda-Runtime-Trace-Id': request.traceId,
      })
      .end(JSON.stringify(request.event));
  }

  /**
   * The client has gone. As in Lambda, the function runs on until it has written everything (or
   * times out); its bytes are read and dropped. Cutting the response connection instead would stop
   * it at once, but aws-lambda-ric 4.0.2 then exits on an unhandled 'socket hang up' rejection.
   */
  cancel(requestId: string): void {
    const open = this.#open;
    if (open?.request.requestId === requestId) open.discarding = true;
  }

  /**
   * Ends the open invocation without the runtime (it timed out, or its process is gone): a response
   * under way is cut; one that never began fails (a 502 for the client), unless `cut` asks to cut
   * it all the same.
   */
  abandon(error: FunctionError, cut: boolean): void {
    const open = this.#open;
    if (open === undefined) return;
    if (open.response !== undefined) {
      this.#cut(open);
    } else {
      this.#settle(open);
      if (cut) open.request.sink.abort(null);
      else open.request.sink.fail(error);
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#open?.late);
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const invocation = INVOCATION.exec(url);
    if (req.method === 'GET' && url === NEXT) this.#onNext(res);
    else if (req.method === 'POST' && invocation?.[2] === 'response') this.#onResponse(decodeURIComponent(invocation[1] ?? ''), req, res);
    else if (req.method === 'POST' && invocation?.[2] === 'error') void this.#onError(decodeURIComponent(invocation[1] ?? ''), req, res);
    else if (req.method === 'POST' && url === INIT_ERROR) void this.#onInitError(req, res);
    else reply(discard(req, res), 404, { errorType: 'NotFound', errorMessage: `${req.method} ${url} is not part of the Runtime API` });
  }

  #onNext(res: ServerResponse): void {
    if (this.#next !== undefined) {
      reply(res, 400, { errorType: 'InvalidStateTransition', errorMessage: 'a /next is already waiting' });
      return;
    }
    this.#next = res;
    // The runtime gave up waiting (its process died): it is not waiting any more.
    res.on('close', () => {
      if (this.#next === res) this.#next = undefined;
    });
    const open = this.#open;
    if (open === undefined) {
      this.#events.onIdle();
    } else if (open.response === undefined) {
      // Done with an invocation it has not answered (yet): see LATE_RESPONSE_MS.
      open.late = setTimeout(() => {
        this.#settle(open);
        open.request.sink.abort(null);
      }, LATE_RESPONSE_MS);
    }
    // A response under way settles the invocation when its POST ends.
  }

  #onResponse(requestId: string, req: IncomingMessage, res: ServerResponse): void {
    const open = this.#open;
    if (open === undefined || open.request.requestId !== requestId || open.response !== undefined) {
      reply(discard(req, res), 400, { errorType: 'InvalidRequestID', errorMessage: `no invocation ${requestId} awaits a response` });
      return;
    }
    open.response = req;
    clearTimeout(open.late);
    req.on('error', () => undefined);
    const { sink } = open.request;
    if (String(req.headers['lambda-runtime-function-response-mode']).toLowerCase() !== 'streaming') {
      // offline-url serves RESPONSE_STREAM functions only, as the emulation refuses other handlers.
      this.#settle(open);
      sink.fail({
        errorType: 'Runtime.NotStreaming',
        errorMessage: 'the handler answered in buffered mode: wrap it in awslambda.streamifyResponse',
      });
      reply(discard(req, res), 202, { status: 'OK' });
      return;
    }
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    req.on('data', (chunk: Buffer) => {
      if (open.discarding) return;
      // Backpressure: the next chunk is read once the client has taken this one.
      req.pause();
      sink.write(chunk, contentType, (error) => {
        // The client has gone (see cancel).
        if (error) open.discarding = true;
        req.resume();
      });
    });
    req.on('end', () => {
      if (this.#open !== open) return;
      this.#settle(open);
      const errorType = req.trailers[ERROR_TYPE];
      if (errorType === undefined) sink.end(contentType, () => undefined);
      else sink.fail({ errorType, errorMessage: errorBodyMessage(req.trailers[ERROR_BODY]) });
      reply(res, 202, { status: 'OK' });
    });
    req.on('close', () => {
      if (!req.complete) this.#cut(open);
    });
  }

  async #onError(requestId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const open = this.#open;
    const report = await readJson(req);
    if (open === undefined || open.request.requestId !== requestId || open.response !== undefined) {
      reply(res, 400, { errorType: 'InvalidRequestID', errorMessage: `no invocation ${requestId} awaits a response` });
      return;
    }
    this.#settle(open);
    open.request.sink.fail(reportedError(report, req.headers[ERROR_TYPE]));
    reply(res, 202, { status: 'OK' });
  }

  async #onInitError(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const report = await readJson(req);
    this.#events.onInitError(reportedError(report, req.headers[ERROR_TYPE]));
    reply(res, 202, { status: 'OK' });
  }

  /** Cuts the response connection (the runtime is gone or timed out), and so the client's response. */
  #cut(open: Open): void {
    open.response?.socket.destroy();
    if (this.#open !== open) return;
    this.#settle(open);
    open.request.sink.abort(null);
  }

  #settle(open: Open): void {
    if (this.#open !== open) return;
    clearTimeout(open.late);
    this.#open = undefined;
    if (this.#next !== undefined) this.#events.onIdle();
  }
}

/**
 * Every answer closes its connection. aws-lambda-cpp keeps a curl handle per libuv thread, so with
 * keep-alive a runtime process would hold up to four idle /next connections, as many as its threads
 * that happened to ask; closed, an idle runtime holds exactly one: its waiting /next.
 */
function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' }).end(JSON.stringify(body));
}

/** Reads and drops a request body we do not want, so that the answer can go out on a clean connection. */
function discard(req: IncomingMessage, res: ServerResponse): ServerResponse {
  req.on('error', () => undefined);
  req.resume();
  return res;
}

/** A JSON body of at most MAX_JSON_BYTES; undefined if it is larger, cut or not JSON. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_JSON_BYTES) return undefined;
      chunks.push(chunk);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The error report of /error and /init/error: {errorType, errorMessage, trace?}, and the Error-Type header. */
function reportedError(report: unknown, typeHeader: string | string[] | undefined): FunctionError {
  const fields = typeof report === 'object' && report !== null ? (report as Record<string, unknown>) : {};
  const header = Array.isArray(typeHeader) ? typeHeader[0] : typeHeader;
  return {
    errorType: typeof fields.errorType === 'string' ? fields.errorType : (header ?? 'Unknown'),
    errorMessage: typeof fields.errorMessage === 'string' ? fields.errorMessage : '',
  };
}

/** The Error-Body trailer is base64 of the same JSON report. */
function errorBodyMessage(trailer: string | undefined): string {
  if (trailer === undefined) return '';
  try {
    return reportedError(JSON.parse(Buffer.from(trailer, 'base64').toString('utf8')) as unknown, undefined).errorMessage;
  } catch {
    return '';
  }
}
