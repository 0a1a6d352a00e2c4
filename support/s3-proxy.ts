import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that reached the S3 server through the proxy. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly ifMatch: string | undefined;
  readonly ifNoneMatch: string | undefined;
}

/**
 * A fault the proxy injects into the next `count` requests (or all, without count):
 * - slowdown / internal-error: answers 503 SlowDown / 500 InternalError itself, as S3 does;
 * - refuse: resets the connection as soon as the request arrives;
 * - stall: never answers;
 * - delay: forwards after `delayMs`;
 * - cut: forwards the answer's head and `bytes` bytes of its body, then closes the connection;
 * - hang: the same, but then keeps the connection open and silent.
 */
export interface Fault {
  readonly mode: 'none' | 'slowdown' | 'internal-error' | 'refuse' | 'stall' | 'delay' | 'cut' | 'hang';
  readonly count?: number;
  readonly delayMs?: number;
  readonly bytes?: number;
}

const S3_ERRORS = {
  slowdown: [503, 'SlowDown', 'Please reduce your request rate.'],
  'internal-error': [500, 'InternalError', 'We encountered an internal error. Please try again.'],
} as const;

export interface S3Proxy {
  /** Where the function under test sends its S3 requests. */
  readonly url: string;
  /**
   * GET /requests lists what was forwarded since the last POST /reset; GET /connections counts open
   * connections, requests whose response has not ended or been closed, and body bytes forwarded so
   * far; POST /fault sets a Fault.
   */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/**
 * A forwarding proxy on 127.0.0.1 in front of the S3 server, so that tests count the S3 requests
 * each client request costs where S3 sees them, on the wire, rather than trusting the code's own
 * account. Test workers read the counts over HTTP from its admin port. In support/, beside
 * swift.ts: the bench counts S3 requests with it too (bench/groups/s3.ts), and bench/ depends on
 * nothing of test/.
 */
export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const seen: SeenRequest[] = [];
  let openConnections = 0;
  let inFlight = 0;
  let bytesOut = 0;
  let fault: Fault = { mode: 'none' };
  let faultsLeft = Infinity;

  const currentFault = (): Fault => {
    if (fault.mode === 'none' || faultsLeft <= 0) return { mode: 'none' };
    faultsLeft -= 1;
    return fault;
  };

  const proxy = createServer((req, res) => {
    if (!req.url?.startsWith('/?') && req.url !== '/') seen.push(describe(req));
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
    const injected = currentFault();
    if (injected.mode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (injected.mode === 'stall') return;
    if (injected.mode === 'slowdown' || injected.mode === 'internal-error') {
      const [status, code, message] = S3_ERRORS[injected.mode];
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
      req.resume();
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    const forwardNow = () => {
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
          if (injected.mode === 'cut' || injected.mode === 'hang') {
            let left = injected.bytes ?? 0;
            answer.on('data', (chunk: Buffer) => {
              if (left <= 0) return;
              res.write(chunk.subarray(0, left));
              left -= chunk.length;
              if (left <= 0) {
                answer.destroy();
                if (injected.mode === 'cut') res.socket?.destroy();
              }
            });
          } else {
            answer.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
            answer.pipe(res);
          }
          res.on('close', () => answer.destroy());
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
      res.on('close', () => forward.destroy());
    };
    if (injected.mode === 'delay') setTimeout(forwardNow, injected.delayMs ?? 0);
    else forwardNow();
  });
  proxy.on('connection', (socket) => {
    openConnections += 1;
    socket.once('close', () => (openConnections -= 1));
  });

  const admin = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/reset') {
      seen.length = 0;
      res.end('{}');
    } else if (req.method === 'POST' && req.url === '/fault') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        fault = JSON.parse(Buffer.concat(chunks).toString() || '{"mode":"none"}') as Fault;
        faultsLeft = fault.count ?? Infinity;
        res.end('{}');
      });
    } else if (req.url === '/connections') {
      res.end(JSON.stringify({ open: openConnections, inFlight, bytesOut }));
    } else {
      res.end(JSON.stringify(seen));
    }
  });

  await Promise.all([listen(proxy), listen(admin)]);
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    adminUrl: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
    stop: async () => {
      proxy.closeAllConnections();
      admin.closeAllConnections();
      await Promise.all([close(proxy), close(admin)]);
    },
  };
}

function describe(req: IncomingMessage): SeenRequest {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  return {
    method: req.method ?? '',
    path: decodeURIComponent((req.url ?? '').split('?')[0] ?? ''),
    range: header('range'),
    ifMatch: header('if-match'),
    ifNoneMatch: header('if-none-match'),
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
