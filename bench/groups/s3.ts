import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from '../../local/lambda-runtime';
import { startS3Proxy, type SeenRequest } from '../../support/s3-proxy';
import { swiftS3ClientConfig } from '../../support/swift';
import { randomWindow } from '../lib/data';
import { drainToSink, expectAnswer, invoke, urlEvent, viaHandler, type Answer, type Window } from '../lib/handler-io';
import { megabytesPerSecond, requestsPerSecond } from '../lib/measure';
import { formatBytes } from '../lib/profile';
import { throughputRow } from '../lib/rows';
import { handlerS3Env, sharedS3, upload, type BenchS3, type S3Object } from '../lib/s3-server';
import { alternate, summarize } from '../lib/stats';
import type { BenchContext, BenchGroup, Row } from '../lib/types';

const GROUP = 's3: handler in process, Swift';
const PEER = 'bare GetObject';
/** Lambda's limit for a streamed response; the whole-object row reads profile.wholeSize (190 MiB) under it. */
const MAX_RESPONSE_BYTES = '200000000';

/** The object names under the prefix: the bench files' names (the handler accepts them). */
const BIG_NAME = 'Bench_S3Big__0b000000-0000-4000-8000-000000000004.mp4';

/**
 * A fresh instance of handlers/stream.ts for STORAGE=s3. The module reads the environment once, at
 * import (top-level await storageFromEnv), and groups/in-process.ts has already imported it with
 * the local backend in this process: the same specifier would give back that instance. A query
 * string makes another module URL, so Node (and tsx) evaluate the file again with the current
 * environment, like vi.resetModules(); its own imports (core/, storage/) are shared, which is
 * harmless as none of them reads the environment at import. In process rather than in a child,
 * so that ours and the peer run on the same event loop and differ only in the code between the
 * S3 socket and the sink. `tag` tells the instances apart (one per endpoint).
 */
async function loadS3Handler(tag: string, env: Readonly<Record<string, string>>): Promise<StreamingHandler> {
  // No access log line per request in process: it would go to the bench's own stdout, between its
  // progress lines. Its cost is in the HTTP rows, where the server writes it.
  Object.assign(process.env, { ACCESS_LOG: 'off' }, env);
  installRuntimeGlobal();
  const specifier = `${new URL('../../handlers/stream.ts', import.meta.url).href}?${tag}`;
  const module = (await import(specifier)) as { handler?: unknown };
  if (!isStreamingHandler(module.handler)) throw new Error('handlers/stream.ts does not export a streaming handler');
  return module.handler;
}

/** Sets `env` on process.env; returns what puts the previous values back. */
function setEnv(env: Readonly<Record<string, string>>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

const rangeOf = (w: Window) => `bytes=${w.start}-${w.end}`;

async function viaGetObject(client: S3Client, s3: BenchS3, object: S3Object, window?: Window): Promise<number> {
  const response = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: s3.prefix + object.name, ...(window === undefined ? {} : { Range: rangeOf(window) }) }));
  if (!(response.Body instanceof Readable)) throw new Error('GetObject: the body is not a Node.js stream');
  const answer: Answer = await drainToSink(response.Body, window === undefined ? 200 : 206);
  expectAnswer(`GetObject ${object.name}`, answer, window === undefined ? 200 : 206, window === undefined ? object.size : window.end - window.start + 1);
  return answer.bytes;
}

export const s3Group: BenchGroup = {
  id: 's3',
  usesS3: true,
  name: GROUP,
  describe: (profile) => [
    `s3: OpenStack Swift (s3api, support/swift.ts) on 127.0.0.1; handlers/stream.ts with STORAGE=s3 and ACCESS_LOG=off (a second module instance, imported with a query string, MAX_RESPONSE_BYTES=${MAX_RESPONSE_BYTES}) into a byte-counting RuntimeResponseStream sink, vs a bare S3Client GetObjectCommand (same endpoint, same Range, body piped into the same sink), both in the bench process, straight to Swift; whole ${formatBytes(profile.wholeSize)} object (GET without Range, 200) x${profile.s3WholeRepeats} per sample, random ${formatBytes(profile.rangeSize)} ranges of a ${formatBytes(profile.s3BigSize)} object for ${profile.s3RangeMs} ms per round, ${profile.s3Rounds} alternating rounds`,
    `s3 requests per client request: a third instance whose S3_ENDPOINT is support/s3-proxy.ts in front of Swift, which records each request it forwards; ${profile.s3CountRequests} client requests of each kind`,
  ],
  async run({ profile, files, cleanup, log, signal }: BenchContext): Promise<Row[]> {
    if (profile.s3BigSize > files.big.size) throw new Error(`s3BigSize ${profile.s3BigSize} exceeds the big file (${files.big.size})`);
    const s3 = await sharedS3(cleanup, log);
    const proxy = await startS3Proxy(s3.server.endpoint);
    cleanup.add('s3 counting proxy', () => proxy.stop());

    const uploadStarted = performance.now();
    const whole = await upload(s3, files.whole.name, files.whole.path, files.whole.size);
    const big = await upload(s3, BIG_NAME, files.big.path, profile.s3BigSize);
    const small = await upload(s3, files.small.name, files.small.path, files.small.size);
    log(`  uploaded ${formatBytes(whole.size)}, ${formatBytes(big.size)} and ${formatBytes(small.size)} in ${((performance.now() - uploadStarted) / 1000).toFixed(1)} s`);

    const peer = new S3Client(swiftS3ClientConfig(s3.server));
    cleanup.add('s3 peer client', () => peer.destroy());

    // The handler's S3 client takes its credentials from the environment on its first request
    // (then keeps them): the environment stays set until the group ends.
    const restore = setEnv({ ...handlerS3Env(s3), MAX_RESPONSE_BYTES });
    try {
      const ours = await loadS3Handler('s3', handlerS3Env(s3));
      const counted = await loadS3Handler('s3-counted', handlerS3Env(s3, proxy.url));

      // Unmeasured: JIT, sockets, credentials, Swift's own caches.
      for (const handler of [ours, counted]) await viaHandler(handler, big, randomWindow(big.size, profile.rangeSize));
      await viaGetObject(peer, s3, big, randomWindow(big.size, profile.rangeSize));
      await viaGetObject(peer, s3, whole);
      await viaHandler(ours, whole);

      type C = typeof PEER | 'ours';
      const contenders: C[] = [PEER, 'ours'];
      const wholeSamples = await alternate(contenders, profile.s3Rounds, (c) => {
        signal.throwIfAborted();
        return megabytesPerSecond(profile.s3WholeRepeats, () => (c === 'ours' ? viaHandler(ours, whole) : viaGetObject(peer, s3, whole)));
      }, (c, round, v) => log(`  whole ${formatBytes(whole.size)} x${profile.s3WholeRepeats} round ${round + 1} ${c}: ${v.toFixed(0)} MB/s`));

      const rangeSamples = await alternate(contenders, profile.s3Rounds, (c) => {
        signal.throwIfAborted();
        return requestsPerSecond(profile.s3RangeMs, Number.POSITIVE_INFINITY, () => {
          const window = randomWindow(big.size, profile.rangeSize);
          return c === 'ours' ? viaHandler(ours, big, window) : viaGetObject(peer, s3, big, window);
        });
      }, (c, round, v) => log(`  ${formatBytes(profile.rangeSize)} ranges round ${round + 1} ${c}: ${v.toFixed(1)} req/s`));

      // S3 requests per client request, as the proxy saw them.
      const seen = async (request: () => Promise<void>): Promise<SeenRequest[]> => {
        await fetch(`${proxy.adminUrl}/reset`, { method: 'POST' });
        await request();
        return (await (await fetch(`${proxy.adminUrl}/requests`)).json()) as SeenRequest[];
      };
      interface Kind {
        readonly id: string;
        readonly label: string;
        readonly expected: string;
        readonly request: () => Promise<{ check: (r: SeenRequest) => boolean }>;
      }
      const kinds: Kind[] = [
        {
          id: 's3-requests-range',
          label: `S3 requests per GET with Range (${formatBytes(profile.rangeSize)} of ${formatBytes(big.size)})`,
          expected: 'exactly 1 GetObject with the same Range',
          request: async () => {
            const window = randomWindow(big.size, profile.rangeSize);
            await viaHandler(counted, big, window);
            return { check: (r) => r.method === 'GET' && r.range === rangeOf(window) };
          },
        },
        {
          id: 's3-requests-get',
          label: `S3 requests per GET without Range (${formatBytes(small.size)}, 200)`,
          expected: 'exactly 1 GetObject',
          request: async () => {
            await viaHandler(counted, small);
            return { check: (r) => r.method === 'GET' };
          },
        },
        {
          id: 's3-requests-head',
          label: `S3 requests per HEAD (${formatBytes(small.size)})`,
          expected: 'exactly 1 HeadObject',
          request: async () => {
            const answer = await invoke(counted, urlEvent(small.name, 'HEAD'));
            expectAnswer(`HEAD ${small.name}`, answer, 200, 0);
            return { check: (r) => r.method === 'HEAD' };
          },
        },
      ];
      const countRows: Row[] = [];
      for (const kind of kinds) {
        signal.throwIfAborted();
        const counts: number[] = [];
        const wrong = new Set<string>();
        for (let i = 0; i < profile.s3CountRequests; i++) {
          let check: (r: SeenRequest) => boolean = () => false;
          const requests = await seen(async () => {
            ({ check } = await kind.request());
          });
          counts.push(requests.length);
          for (const r of requests) if (!check(r)) wrong.add(`${r.method} ${r.path} Range=${r.range ?? '-'}`);
        }
        const ours = summarize(counts);
        const pass = ours.min === 1 && ours.max === 1 && wrong.size === 0;
        log(`  ${kind.label}: ${counts.join(', ')}${wrong.size > 0 ? `; unexpected: ${[...wrong].join('; ')}` : ''}`);
        countRows.push({
          group: GROUP,
          id: kind.id,
          label: kind.label,
          unit: 'S3 requests',
          better: 'lower',
          ratioMeaning: '-',
          ours,
          peers: [],
          targets: [{ maxValue: 1, text: `${kind.expected} (counted at the proxy in front of Swift)`, pass }],
          ...(wrong.size > 0 ? { note: `unexpected S3 requests: ${[...wrong].join('; ')}` } : {}),
        });
      }

      const row = (id: string, label: string, unit: string, samples: Record<C, number[]>) => throughputRow(GROUP, PEER, id, label, unit, samples);
      return [
        row('s3-whole', `whole ${formatBytes(whole.size)} object, GET without Range (190 MiB max: MAX_RESPONSE_BYTES <= 200000000)`, 'MB/s', wholeSamples),
        row('s3-range', `random ${formatBytes(profile.rangeSize)} range of the ${formatBytes(big.size)} object, sequential`, 'req/s', rangeSamples),
        ...countRows,
      ];
    } finally {
      restore();
    }
  },
};
