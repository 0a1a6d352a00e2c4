import { connect, type Socket } from 'node:net';

/**
 * A minimal HTTP/1.1 client over one TCP connection, for the load: it parses the response head and
 * then only counts Content-Length body bytes, never copying or decoding them. On a two-core machine
 * the client shares the CPU with the server it measures, and node:http's per-chunk stream machinery
 * costs the client about as much as the fastest server, which flattened every comparison. One
 * request at a time per connection (no pipelining); every response must carry Content-Length.
 */

export interface Exchange {
  readonly status: number;
  readonly bytes: number;
  /** ms from writing the request to the end of the response head. */
  readonly headMs: number;
  /** ms from writing the request to the last body byte (or to the hang-up, with stopAfter). */
  readonly totalMs: number;
  readonly headers: ReadonlyMap<string, string>;
}

interface Pending {
  readonly started: number;
  readonly stopAfter: number | undefined;
  readonly resolve: (exchange: Exchange) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  head: Buffer | undefined;
  status: number;
  headers: Map<string, string>;
  headMs: number;
  remaining: number;
  bytes: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;

export class RawConnection {
  readonly #socket: Socket;
  readonly #host: string;
  readonly #ready: Promise<void>;
  #pending: Pending | undefined;
  #closed: Error | undefined;

  constructor(url: URL) {
    if (url.hostname !== '127.0.0.1') throw new Error(`the bench only talks to 127.0.0.1, not ${url.host}`);
    this.#host = url.host;
    this.#socket = connect({ host: '127.0.0.1', port: Number(url.port), noDelay: true });
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve);
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  /** GET `path`; with `stopAfter`, the connection is destroyed once that many body bytes arrived. */
  async get(path: string, options: { headers?: Record<string, string>; timeoutMs: number; stopAfter?: number; close?: boolean }): Promise<Exchange> {
    await this.#ready;
    if (this.#closed) throw this.#closed;
    if (this.#pending) throw new Error('one request at a time');
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${this.#host}`, `Connection: ${options.close ? 'close' : 'keep-alive'}`];
    for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
    return new Promise<Exchange>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.destroy();
        this.#fail(new Error(`GET ${path} took more than ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      this.#pending = { started: performance.now(), stopAfter: options.stopAfter, resolve, reject, timer, head: undefined, status: 0, headers: new Map(), headMs: 0, remaining: -1, bytes: 0 };
      this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    });
  }

  /** False once the connection failed or was closed by either side. */
  get usable(): boolean {
    return this.#closed === undefined && !this.#socket.destroyed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const p = this.#pending;
    if (p === undefined) {
      this.#fail(new Error('bytes without a request'));
      return;
    }
    let body = chunk;
    if (p.remaining < 0) {
      const head = p.head === undefined ? chunk : Buffer.concat([p.head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.length > MAX_HEAD) this.#fail(new Error('response head too long'));
        else p.head = head;
        return;
      }
      p.headMs = performance.now() - p.started;
      const [statusLine, ...fields] = head.subarray(0, end).toString('latin1').split('\r\n');
      p.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
      for (const field of fields) {
        const colon = field.indexOf(':');
        if (colon > 0) p.headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
      }
      const length = p.headers.get('content-length');
      if (length === undefined) {
        this.#fail(new Error(`status ${p.status} without Content-Length (chunked bodies are not supported here)`));
        return;
      }
      p.remaining = Number(length);
      body = head.subarray(end + HEAD_END.length);
    }
    if (body.length > p.remaining) {
      this.#fail(new Error(`${body.length - p.remaining} bytes past the end of the body`));
      return;
    }
    p.remaining -= body.length;
    p.bytes += body.length;
    if (p.stopAfter !== undefined && p.bytes >= p.stopAfter && p.remaining > 0) {
      this.#settle();
      this.destroy();
      return;
    }
    if (p.remaining === 0) this.#settle();
  }

  #settle(): void {
    const p = this.#pending!;
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.resolve({ status: p.status, bytes: p.bytes, headMs: p.headMs, totalMs: performance.now() - p.started, headers: p.headers });
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    const p = this.#pending;
    if (p === undefined) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    this.#socket.destroy();
    p.reject(error);
  }
}
