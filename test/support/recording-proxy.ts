import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request a client made through the recording proxy, and what it got. */
export interface RecordedExchange {
  readonly method: string;
  readonly path: string;
  /** Every request header as the client sent it (names lower-cased by Node). */
  readonly request: IncomingHttpHeaders;
  readonly status: number;
  /** Every response header as the server sent it. */
  readonly response: IncomingHttpHeaders;
  /** Body bytes passed on to the client. */
  readonly bytes: number;
  /** False when the answer was cut short: the client hung up, or the server cut the body. */
  readonly completed: boolean;
}

export interface RecordingProxy {
  /** Use this instead of the server's URL; the page and the media then share an origin. */
  readonly url: string;
  /** The exchanges since the last reset whose path starts with `prefix`, in the order they began. */
  exchanges(prefix?: string): RecordedExchange[];
  reset(): void;
  stop(): Promise<void>;
}

/**
 * A reverse proxy on 127.0.0.1 that records what a browser sends and what the server under test
 * answers, without changing either: request and response headers are passed on as they came (raw,
 * in order), the body byte for byte, and a body the server cuts short is cut short for the
 * client too (never ended as if complete). Only the chunk boundaries of a chunked body may differ.
 * One record for every engine, on the wire: WebDriver classic (WebKit) has no network events,
 * and the other drivers report media requests each in a shape of its own, if at all.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  let seen: RecordedExchange[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const started = seen;
    // Pushed at once and filled in as the answer goes: a stalled answer still shows as asked.
    const index = started.length;
    const record = (fill: Partial<RecordedExchange>) => {
      const current = started[index];
      if (current !== undefined) started[index] = { ...current, ...fill };
    };
    started.push({ method: req.method ?? '', path: req.url ?? '', request: req.headers, status: 0, response: {}, bytes: 0, completed: false });

    // agent: false, and the client's own Connection header: the server sees each request as the
    // client framed it (WebKit's first media GET asks for Connection: close).
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.rawHeaders, agent: false },
      (answer) => {
        record({ status: answer.statusCode ?? 0, response: answer.headers });
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        let bytes = 0;
        answer.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          record({ bytes });
          // Backpressure as on a direct connection: the server is read no faster than the client reads.
          if (!res.write(chunk)) {
            answer.pause();
            res.once('drain', () => answer.resume());
          }
        });
        answer.on('end', () => {
          if (answer.complete) {
            record({ completed: true });
            res.end();
          } else res.destroy();
        });
        answer.on('error', () => res.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges: (prefix = '/') => seen.filter((exchange) => exchange.path.startsWith(prefix)),
    reset: () => {
      seen = [];
    },
    stop: async () => {
      // A browser that was killed may leave keep-alive sockets behind; they must not hold the close.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
