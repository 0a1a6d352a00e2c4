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

export interface S3Proxy {
  /** Where the function under test sends its S3 requests. */
  readonly url: string;
  /**
   * GET /requests lists what was forwarded since the last POST /reset; GET /connections counts open
   * connections and requests whose response has not ended or been closed.
   */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/**
 * A forwarding proxy on 127.0.0.1 in front of the S3 server, so that tests count the S3 requests
 * each client request costs where S3 sees them, on the wire, rather than trusting the code's own
 * account. Test workers read the counts over HTTP from its admin port.
 */
export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const seen: SeenRequest[] = [];
  let openConnections = 0;
  let inFlight = 0;

  const proxy = createServer((req, res) => {
    if (!req.url?.startsWith('/?') && req.url !== '/') seen.push(describe(req));
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
        res.on('close', () => answer.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
    res.on('close', () => forward.destroy());
  });
  proxy.on('connection', (socket) => {
    openConnections += 1;
    socket.once('close', () => (openConnections -= 1));
  });

  const admin = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/reset') {
      seen.length = 0;
      res.end('{}');
    } else if (req.url === '/connections') {
      res.end(JSON.stringify({ open: openConnections, inFlight }));
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
