/**
 * The Node.js peer of the HTTP rows: Express 5 + `send` (what res.sendFile uses), serving
 * BENCH_DIR at /api/stream/:name with ranges, ETag and Last-Modified, on 127.0.0.1:PORT.
 * Run by bench/lib/servers.ts in its own process, as the other servers are.
 */
import express from 'express';
import send from 'send';
import type { AddressInfo } from 'node:net';
import { STREAM_PREFIX } from '../../core/route';

const root = process.env.BENCH_DIR;
if (!root) throw new Error('BENCH_DIR is not set');

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get(`${STREAM_PREFIX}:name`, (req, res) => {
  send(req, encodeURIComponent(req.params.name), { root, dotfiles: 'deny', acceptRanges: true, etag: true, lastModified: true })
    .on('error', (error: { status?: number }) => {
      if (res.headersSent) res.destroy();
      else res.status(error.status ?? 500).json({ detail: error.status === 404 ? 'Archivo no encontrado' : 'Error' });
    })
    .pipe(res);
});

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`express-send listening on http://${address}:${port}`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
