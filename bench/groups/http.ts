import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { get } from 'node:http';
import { randomWindow, type BenchFile } from '../lib/data';
import { downloadWhole, randomRangeLoad, timeToFirstByte } from '../lib/http-clients';
import { formatBytes } from '../lib/profile';
import { ensureNginx, startExpress, startNginx, startOurs, streamUrl, type RunningServer } from '../lib/servers';
import { alternate, ratios, summarize } from '../lib/stats';
import type { BenchContext, BenchGroup, PeerResult, Row } from '../lib/types';
import { STREAM_PREFIX } from '../../core/route';

const GROUP = 'local: HTTP on 127.0.0.1';
const NODE_PEER = 'express+send';

/** Before anything is timed: each server answers a random range byte for byte as the file holds it. */
async function checkServes(server: RunningServer, file: BenchFile): Promise<void> {
  const window = randomWindow(file.size, 100_000);
  const expected = Buffer.alloc(window.end - window.start + 1);
  const handle = await open(file.path);
  try {
    await handle.read(expected, 0, expected.length, window.start);
  } finally {
    await handle.close();
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = get(streamUrl(server, file.name), { headers: { range: `bytes=${window.start}-${window.end}` }, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      if (res.statusCode !== 206) reject(new Error(`${server.name}: ${res.statusCode} for a range`));
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve(Buffer.concat(chunks)));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`${server.name}: no answer in 10 s`)));
    req.once('error', reject);
  });
  if (!body.equals(expected)) throw new Error(`${server.name} served different bytes for ${window.start}-${window.end}`);
}

/** One row: ours against every peer, per-round ratios, the target against express+send. */
function row(id: string, label: string, unit: string, better: 'higher' | 'lower', samples: Record<string, number[]>, peers: readonly string[], minRatio: number | undefined): Row {
  const ours = samples.ours!;
  const peerResults: PeerResult[] = peers.map((name) => ({
    name,
    value: summarize(samples[name]!),
    ratio: summarize(ratios(ours, samples[name]!, better)),
  }));
  const nodePeer = peerResults.find((p) => p.name === NODE_PEER);
  return {
    group: GROUP,
    id,
    label,
    unit,
    better,
    ratioMeaning: better === 'higher' ? 'ours/peer' : 'peer/ours',
    ours: summarize(ours),
    peers: peerResults,
    targets: minRatio === undefined || nodePeer === undefined ? [] : [{ peer: NODE_PEER, minRatio, text: `>= ${minRatio}x ${NODE_PEER}`, pass: nodePeer.ratio.median >= minRatio }],
  };
}

export const httpGroup: BenchGroup = {
  id: 'http',
  name: GROUP,
  describe: (profile) => [
    `ours: what \`npm start\` runs: node node_modules/osls/bin/serverless.js offline with PORT=0 HOST=127.0.0.1 OFFLINE_LAMBDA_PORT=0 DOWNLOADS_DIR=<bench dir>`,
    `nginx: /usr/sbin/nginx -p <tmp> -c <tmp>/nginx.conf (daemon off, master_process off, 1 worker, sendfile on, location ${STREAM_PREFIX} { alias <bench dir>/; })`,
    `express+send: node --import tsx bench/peers/express-server.ts (Express 5, send(req, name, { root: <bench dir> }))`,
    `(a) one client GETs the ${formatBytes(profile.wholeSize)} file whole on a new connection; (b) ${profile.loadConnections} keep-alive clients GET random ${formatBytes(profile.rangeSize)} ranges of the ${formatBytes(profile.bigSize)} file for ${profile.loadSeconds} s; (c) ${profile.ttfbRequests} sequential keep-alive \`Range: bytes=0-1\` GETs per round (after ${profile.ttfbWarmup} unmeasured), ${profile.ttfbRounds} rounds, time to the end of the response head; client: bench/lib/raw-http.ts (a minimal HTTP/1.1 client that counts body bytes) in the bench process`,
  ],
  async run({ profile, files, cleanup, log, signal }: BenchContext): Promise<Row[]> {
    await ensureNginx(log);
    const servers: RunningServer[] = [
      await startNginx(cleanup, files.dir, join(files.root, 'nginx')),
      await startExpress(cleanup, files.dir),
      await startOurs(cleanup, files.dir),
    ];
    try {
      for (const server of servers) await checkServes(server, files.big);
      log(`  servers: ${servers.map((s) => `${s.name} ${s.url} (pid ${s.pid})`).join(', ')}`);
      const names = servers.map((s) => s.name);
      const byName = new Map(servers.map((s) => [s.name, s]));
      const peers = names.filter((n) => n !== 'ours');
      const timeout = profile.measurementTimeoutMs;
      const each = <M>(what: string, measure: (server: RunningServer) => Promise<M>, show: (m: M) => string, rounds = profile.rounds) =>
        alternate(names, rounds, (name) => {
          signal.throwIfAborted();
          return measure(byName.get(name)!);
        }, (name, round, value) => log(`  ${what} round ${round + 1} ${name}: ${show(value)}`));

      // Unmeasured: one whole download and a short burst per server (JIT, connection setup).
      for (const server of servers) {
        await downloadWhole(streamUrl(server, files.whole.name), files.whole.size, timeout);
        await randomRangeLoad(streamUrl(server, files.big.name), files.big.size, profile.rangeSize, profile.loadConnections, 0.3, timeout);
      }

      const whole = await each('(a) whole', (s) => downloadWhole(streamUrl(s, files.whole.name), files.whole.size, timeout), (v) => `${v.toFixed(0)} MB/s`);
      const load = await each(
        '(b) ranges',
        (s) => randomRangeLoad(streamUrl(s, files.big.name), files.big.size, profile.rangeSize, profile.loadConnections, profile.loadSeconds, timeout),
        (v) => `${v.requestsPerSecond.toFixed(0)} req/s, p50 ${v.p50Ms.toFixed(2)} ms, p99 ${v.p99Ms.toFixed(2)} ms`,
      );
      const ttfb = await each(
        '(c) ttfb',
        (s) => timeToFirstByte(streamUrl(s, files.big.name), files.big.size, profile.ttfbRequests, profile.ttfbWarmup, timeout),
        (v) => `p50 ${v.p50Ms.toFixed(3)} ms, p99 ${v.p99Ms.toFixed(3)} ms`,
        profile.ttfbRounds,
      );

      const pick = <M>(samples: Record<string, M[]>, f: (m: M) => number) => Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map(f)]));
      const ranges = `${profile.loadConnections} clients, random ${formatBytes(profile.rangeSize)} ranges`;
      return [
        row('http-whole', `(a) 1 client, whole ${formatBytes(files.whole.size)} file`, 'MB/s', 'higher', whole, peers, 1.0),
        row('http-ranges-rps', `(b) ${ranges}`, 'req/s', 'higher', pick(load, (m) => m.requestsPerSecond), peers, 1.0),
        row('http-ranges-p50', `(b) ${ranges}, p50 latency`, 'ms', 'lower', pick(load, (m) => m.p50Ms), peers, undefined),
        row('http-ranges-p99', `(b) ${ranges}, p99 latency`, 'ms', 'lower', pick(load, (m) => m.p99Ms), peers, undefined),
        row('http-ttfb-p50', '(c) bytes=0-1, time to first byte p50', 'ms', 'lower', pick(ttfb, (m) => m.p50Ms), peers, 1.0),
        row('http-ttfb-p99', '(c) bytes=0-1, time to first byte p99', 'ms', 'lower', pick(ttfb, (m) => m.p99Ms), peers, 1.0),
      ];
    } finally {
      for (const server of servers.reverse()) await server.stop();
    }
  },
};
