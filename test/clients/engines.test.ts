import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { ENGINES, launchEngine, livingProcesses, type Engine, type EngineName } from '../support/engines';
import { LONG_MP4_NAME, NOISY_MP4_NAME, WEBM_NAME } from '../support/fixtures';
import { startOffline, type OfflineServer } from '../support/offline-server';
import { SAMPLE_NAME } from '../support/paths';
import { contentRangeLength } from '../support/http';
import { startRecordingProxy, type RecordedExchange, type RecordingProxy } from '../support/recording-proxy';
import { playAndSeek, type PlayPlan, type PlayReport } from './media-script';

/**
 * Chromium, Firefox and WebKitGTK play and seek through `npm start`, with the window policies
 * (RANGE_WINDOWS) and with the Function URL's reported Content-Length remap on and off. A
 * recording proxy in front of each server keeps what every engine sent and got. With
 * ENGINES_REPORT=<file> the observations are written there as a Markdown table per engine.
 */

type Policy = 'proven' | 'all' | 'off';

interface Target {
  readonly label: string;
  readonly kind: 'local' | 's3';
  /** RANGE_WINDOWS; 'proven' is the default, left unset. */
  readonly policy: Policy;
  readonly remap: boolean;
  /** What the proxy forwards to. */
  readonly origin: string;
}

const [local, s3] = inject('backends');
const [localTight] = inject('tightBackends');
if (local === undefined || s3?.s3 === undefined || localTight === undefined) throw new Error('the global setup provides both backends');
const bucket = s3.s3;

const WINDOW = 4 * 1024 * 1024;
/** Less than the MP4s: WebKit's first GET, which has no Range, cannot be answered by the function. */
const MAX_RESPONSE = 8 * 1024 * 1024;
const LOW_LIMIT = 'S3, 8 MiB per response';

/** Servers this file starts itself: the policy and the remap are fixed when a server starts. */
const OWN: ReadonlyArray<{ label: string; policy: Policy; remap: boolean; kind?: 's3' }> = [
  { label: 'local, default policy, remap on', policy: 'proven', remap: true },
  { label: 'local, RANGE_WINDOWS=all', policy: 'all', remap: false },
  { label: 'local, RANGE_WINDOWS=all, remap on', policy: 'all', remap: true },
  { label: 'local, RANGE_WINDOWS=off', policy: 'off', remap: false },
  { label: 'local, RANGE_WINDOWS=off, remap on', policy: 'off', remap: true },
  { label: LOW_LIMIT, policy: 'proven', remap: false, kind: 's3' },
];

const targets = new Map<string, Target & { proxy: RecordingProxy }>();
const servers: OfflineServer[] = [];
/**
 * In front of the S3 server for LOW_LIMIT, which signs its presigned URLs for this address: what
 * a browser sends to S3 after a 307 is recorded too (the function's own requests carry SigV4
 * Authorization headers, a browser's presigned ones do not).
 */
let s3Recorder: RecordingProxy;

beforeAll(async () => {
  s3Recorder = await startRecordingProxy(bucket.endpoint);
  const s3Env = {
    STORAGE: 's3',
    S3_BUCKET: bucket.bucket,
    S3_PREFIX: bucket.prefix,
    S3_ENDPOINT: s3Recorder.url,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: bucket.region,
    AWS_ACCESS_KEY_ID: bucket.accessKeyId,
    AWS_SECRET_ACCESS_KEY: bucket.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MAX_RESPONSE_BYTES: String(MAX_RESPONSE),
  };
  // Side by side: each start takes about 10 s, mostly the bundle build.
  const own = await Promise.all(
    OWN.map(async (spec) => {
      const env: Record<string, string> = { OFFLINE_REMAP_CONTENT_LENGTH: String(spec.remap), ...(spec.kind === 's3' ? s3Env : {}) };
      if (spec.policy !== 'proven') env.RANGE_WINDOWS = spec.policy;
      const server = await startOffline(local.downloads, env);
      servers.push(server);
      return { ...spec, kind: spec.kind ?? ('local' as const), origin: server.url };
    }),
  );
  const shared: Target[] = [
    { label: 'local, default policy', kind: 'local', policy: 'proven', remap: false, origin: local.url },
    // 256 KiB windows, 8 MiB per response (the global setup's TIGHT_LIMITS).
    { label: 'local, 8 MiB per response', kind: 'local', policy: 'proven', remap: false, origin: localTight.url },
  ];
  for (const target of [...shared, ...own]) targets.set(target.label, { ...target, proxy: await startRecordingProxy(target.origin) });
}, 180_000);

afterAll(async () => {
  await Promise.all([...targets.values()].map((target) => target.proxy.stop()));
  await Promise.all(servers.map((server) => server.stop()));
  await s3Recorder?.stop();
  if (process.env.ENGINES_REPORT) await writeFile(process.env.ENGINES_REPORT, reportTables());
});

function target(label: string) {
  const found = targets.get(label);
  if (found === undefined) throw new Error(`no server ${label}`);
  return found;
}

// Small files: several seeks, one of them back, and one near the end.
const SEEKS: Record<string, number[]> = { [LONG_MP4_NAME]: [30, 55, 5], [WEBM_NAME]: [6, 11, 2], [SAMPLE_NAME]: [6, 11, 2] };
const STEP = { stallMs: 8_000, stepMs: 30_000 } as const;
/**
 * The 30 MB file from 45 s to its end at 3x: the same requests and windows as at 1x (the player
 * still reads every byte from 45 s on), a third of the time (15 s of media in 5).
 */
const TO_END: Omit<PlayPlan, 'src'> = { seeks: [45], toEnd: true, rate: 3, ...STEP };

interface Observation {
  readonly engine: EngineName;
  readonly version: string;
  readonly target: Target;
  readonly file: string;
  readonly plan: Omit<PlayPlan, 'src'>;
  readonly report: PlayReport;
  readonly exchanges: RecordedExchange[];
  /** What the browser itself sent to S3, following 307s (LOW_LIMIT only). */
  readonly atS3: RecordedExchange[];
}
const observations: Observation[] = [];
let runs = 0;

async function play(engine: Engine, label: string, file: string, plan: Omit<PlayPlan, 'src'>): Promise<Observation> {
  const where = target(label);
  where.proxy.reset();
  s3Recorder.reset();
  // A query of its own per run: no engine may answer from a cache filled by an earlier run.
  const src = `${where.proxy.url}/api/stream/${encodeURIComponent(file)}?run=${(runs += 1)}`;
  const budget = plan.stepMs * (plan.seeks.length + 2) + 10_000;
  const report = await engine.run(`${where.proxy.url}/`, playAndSeek, { ...plan, src }, budget);
  const atS3 = label === LOW_LIMIT ? s3Recorder.exchanges().filter((x) => x.request.authorization === undefined) : [];
  const observation = { engine: engine.name, version: engine.version, target: where, file, plan, report, exchanges: where.proxy.exchanges('/api/stream/'), atS3 };
  observations.push(observation);
  return observation;
}

/** What the <video> did, in one phrase a test can compare. */
function outcome({ report, plan }: Observation): string {
  const failedSeek = report.seeks.find((seek) => seek.reached === null);
  const at = failedSeek !== undefined ? `at the seek to ${failedSeek.target} s` : report.started ? `at ${report.playedTo.toFixed(1)} s` : 'before playing';
  if (report.error !== null) return `error ${report.error} ${at}`;
  if (!report.started || failedSeek !== undefined || report.seeks.length < plan.seeks.length) return `stalled ${at}`;
  if (!plan.toEnd) return 'played';
  if (!report.ended) return `stalled ${at}`;
  const lastSeek = plan.seeks.at(-1) ?? 0;
  // Reached the end by playing, not by an early `ended` that jumps to the duration.
  const played = report.playedTo > report.duration - 1.5 && report.endMs > ((report.duration - lastSeek) / plan.rate) * 1000 * 0.7;
  return played ? 'played to the end' : `ended early at ${report.playedTo.toFixed(1)} s`;
}

function expectOutcome(observation: Observation, expected: string | RegExp) {
  const { report } = observation;
  const message = `${observation.engine} on ${observation.target.label}, ${observation.file}: ${report.events.join(' | ')}\n${ranges(observation.exchanges)}`;
  if (typeof expected === 'string') expect(outcome(observation), message).toBe(expected);
  else expect(outcome(observation), message).toMatch(expected);
}

function ranges(exchanges: RecordedExchange[]): string {
  return exchanges.map((x) => `${x.request.range ?? '(no Range)'} -> ${x.status} ${x.response['content-range'] ?? ''}`).join('\n');
}

/** Answers that carried less than was asked: the window policy's short 206s. */
function shortAnswers(exchanges: RecordedExchange[]): RecordedExchange[] {
  return exchanges.filter((x) => {
    const asked = /^bytes=(\d+)-(\d*)$/.exec(String(x.request.range ?? ''));
    const sent = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(x.response['content-range'] ?? ''));
    if (x.status !== 206 || asked === null || sent === null) return false;
    const end = asked[2] === '' ? Number(sent[3]) - 1 : Math.min(Number(asked[2]), Number(sent[3]) - 1);
    return Number(sent[2]) < end;
  });
}

function windowLength(x: RecordedExchange): number {
  return contentRangeLength(x.response['content-range']);
}

/** What each engine sends for media, as observed here; the policy tells engines apart by exactly this. */
function expectEngineHeaders(engine: EngineName, exchanges: RecordedExchange[]) {
  expect(exchanges.length).toBeGreaterThan(0);
  for (const x of exchanges) expect(x.request['sec-fetch-dest'], `${engine} ${x.request.range}`).toBe('video');
  const agents = new Set(exchanges.map((x) => x.request['user-agent']));
  expect(agents.size).toBe(1);
  const agent = String([...agents][0]);
  const rangesSent = exchanges.map((x) => x.request.range);
  switch (engine) {
    case 'chromium':
      expect(agent).toMatch(/ HeadlessChrome\/\d+/);
      // bytes=N- to open, closed ranges (with If-Range) to fill gaps.
      for (const range of rangesSent) expect(range).toMatch(/^bytes=\d+-(\d+)?$/);
      expect(exchanges[0]?.request.range).toMatch(/^bytes=0-$/);
      break;
    case 'firefox':
      expect(agent).toMatch(/ Firefox\/\d+/);
      for (const range of rangesSent) expect(range).toMatch(/^bytes=\d+-$/);
      for (const x of exchanges) expect(x.request['accept-encoding']).toBe('identity');
      break;
    case 'webkit':
      // Neither token the policy looks for: WebKit gets whole ranges by default.
      expect(agent).not.toMatch(/Chrome\/|Firefox\//);
      expect(agent).toMatch(/ AppleWebKit\/[\d.]+ .* Safari\//);
      // It opens without Range, as a radio stream would (Icy-MetaData), on a connection of its own.
      expect(exchanges[0]?.request.range).toBeUndefined();
      expect(exchanges[0]?.request['icy-metadata']).toBe('1');
      expect(exchanges[0]?.request.connection).toBe('close');
      for (const range of rangesSent.slice(1)) expect(range).toMatch(/^bytes=\d+-(\d+)?$/);
      break;
  }
}

/** Media answers as the remap makes them (or not): chunked without Content-Length when it is on. */
function expectRemap(exchanges: RecordedExchange[], remap: boolean) {
  const answered = exchanges.filter((x) => x.status === 200 || x.status === 206);
  expect(answered.length).toBeGreaterThan(0);
  for (const x of answered) {
    if (remap) {
      expect(x.response['content-length']).toBeUndefined();
      expect(x.response['transfer-encoding']).toBe('chunked');
      expect(x.response['x-amzn-remapped-content-length']).toMatch(/^\d+$/);
    } else {
      expect(x.response['content-length']).toMatch(/^\d+$/);
    }
  }
}

describe.each(ENGINES)('%s through npm start', (name) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await launchEngine(name);
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  const smallFiles = [
    ['an MP4 with its index at the end', LONG_MP4_NAME],
    ['a VP9 WebM', WEBM_NAME],
  ];
  const seeking = (file: string): Omit<PlayPlan, 'src'> => ({ seeks: SEEKS[file] ?? [], toEnd: false, rate: 1, ...STEP });

  it.each(smallFiles)('plays %s, seeking forward, near the end and back (default policy)', async (_what, file) => {
    const observation = await play(engine, 'local, default policy', file, seeking(file));
    expectOutcome(observation, 'played');
    expectEngineHeaders(name, observation.exchanges);
    expectRemap(observation.exchanges, false);
    // Windows only for the engines proven to come back for more (the WebM is smaller than one).
    expect(shortAnswers(observation.exchanges).length > 0, ranges(observation.exchanges)).toBe(name !== 'webkit' && file === LONG_MP4_NAME);
  });

  if (name === 'webkit') {
    it('with the remap on, cannot open an MP4 with its index at the end: without a Content-Length it never learns the size', async () => {
      const observation = await play(engine, 'local, default policy, remap on', LONG_MP4_NAME, seeking(LONG_MP4_NAME));
      // MEDIA_ERR_SRC_NOT_SUPPORTED after the start of the chunked first answer and a closed range
      // at the start (bytes=0-1445 here), never asking for the index at the end.
      expectOutcome(observation, 'error 4 before playing');
      expectEngineHeaders(name, observation.exchanges);
      expectRemap(observation.exchanges, true);
      expect(observation.exchanges.every((x) => !/^bytes=[1-9]/.test(String(x.request.range)))).toBe(true);
    });
    it('with the remap on, plays a small MP4 that arrives whole in its first answer', async () => {
      const observation = await play(engine, 'local, default policy, remap on', SAMPLE_NAME, seeking(SAMPLE_NAME));
      expectOutcome(observation, 'played');
      expect(observation.exchanges[0]).toMatchObject({ status: 200, completed: true });
      expectRemap(observation.exchanges, true);
    });
  } else {
    it.each(smallFiles)('with the remap on, plays %s, seeking forward, near the end and back', async (_what, file) => {
      const observation = await play(engine, 'local, default policy, remap on', file, seeking(file));
      expectOutcome(observation, 'played');
      expectEngineHeaders(name, observation.exchanges);
      expectRemap(observation.exchanges, true);
    });
  }

  describe.each([
    ['off', false],
    ['on', true],
  ] as const)('a 30 MB, 60 s MP4 from 45 s to its end, remap %s', (_, remap) => {
    const suffix = remap ? ', remap on' : '';
    // Which engines survive a 206 shorter than asked (RANGE_WINDOWS=all): Chromium and Firefox ask
    // for the rest; WebKit takes the end of a window for the end of the file. With the remap on,
    // WebKit has no size at all and cannot reach the index at the end, whatever the policy.
    const expected = (policy: Policy): string | RegExp => {
      if (name !== 'webkit') return 'played to the end';
      if (remap) return 'error 4 before playing';
      // It played, then fails at or after the seek to 45 s without reaching the end: here mostly
      // MEDIA_ERR_DECODE at the seek, once (on a loaded machine) `ended` at once, jumping to 60 s.
      return policy === 'all' ? /^(error 3|ended early|stalled) (?!before playing)/ : 'played to the end';
    };
    it.each<[string, Policy]>([
      ['the default policy', 'proven'],
      ['RANGE_WINDOWS=all', 'all'],
      ['RANGE_WINDOWS=off', 'off'],
    // WebKit once stalled at the seek with whole ranges (the default policy, remap off) in a
    // fresh-clone CI run on a loaded machine, after asking for the rest of the file from one
    // offset after another: one retry for its runs of this file, none for the other engines. A
    // failure that WebKit repeats (windows: 19 runs of 20) still fails, or passes, both times.
    ])('with %s', { retry: name === 'webkit' ? 1 : 0 }, async (_what, policy) => {
      const label = policy === 'proven' ? `local, default policy${suffix}` : `local, RANGE_WINDOWS=${policy}${suffix}`;
      const observation = await play(engine, label, NOISY_MP4_NAME, TO_END);
      expectOutcome(observation, expected(policy));
      expectEngineHeaders(name, observation.exchanges);
      expectRemap(observation.exchanges, remap);
      const windowed = shortAnswers(observation.exchanges);
      for (const x of windowed) expect(windowLength(x)).toBe(WINDOW);
      // With off nobody, with the default only Chromium and Firefox get windows.
      // (WebKit with the remap on fails before it asks for a range a window would shorten.)
      const getsWindows = policy === 'all' || (policy === 'proven' && name !== 'webkit');
      if (!(name === 'webkit' && remap)) expect(windowed.length > 0, ranges(observation.exchanges)).toBe(getsWindows);
    });
  });

  describe('a file larger than one response may carry (MAX_RESPONSE_BYTES 8 MiB)', () => {
    it('from S3: plays; WebKit through a 307 to S3 for each answer that would be too large', async () => {
      const observation = await play(engine, LOW_LIMIT, LONG_MP4_NAME, seeking(LONG_MP4_NAME));
      expectOutcome(observation, 'played');
      expectEngineHeaders(name, observation.exchanges);
      const answered = observation.exchanges.filter((x) => x.status !== 0);
      const atS3 = observation.atS3;
      if (name === 'webkit') {
        // Its first GET has no Range: too large to answer, so S3 answers it, and then each open
        // range whose rest of the file is still too large (the default policy gives WebKit no windows).
        expect(answered[0]).toMatchObject({ status: 307 });
        for (const x of answered.filter((x) => x.status === 307)) expect(String(x.response.location)).toMatch(new RegExp(`^${s3Recorder.url}/.*X-Amz-Signature=`));
        expect(atS3.every((x) => x.request['user-agent'] === observation.report.userAgent)).toBe(true);
        expect(atS3.some((x) => x.request.range === undefined && x.status === 200)).toBe(true);
        expect(atS3.some((x) => /^bytes=\d+-$/.test(String(x.request.range)) && x.status === 206)).toBe(true);
      } else {
        // Engines that send Range get windows (4 MiB), never too large: S3 never sees them.
        expect(answered.every((x) => x.status === 206)).toBe(true);
        expect(atS3).toEqual([]);
      }
    });

    it('from local disk: 413 for the first GET of WebKit, which cannot play the file; the others play', async () => {
      const observation = await play(engine, 'local, 8 MiB per response', LONG_MP4_NAME, seeking(LONG_MP4_NAME));
      const answered = observation.exchanges.filter((x) => x.status !== 0);
      if (name === 'webkit') {
        expectOutcome(observation, 'error 4 before playing');
        expect(answered.map((x) => x.status)).toEqual([413]);
      } else {
        expectOutcome(observation, 'played');
        expect(answered.every((x) => x.status === 206)).toBe(true);
      }
    });
  });

  it('closes without leaving a process behind (browser, driver, display)', async () => {
    const groups = engine.processGroups;
    expect(livingProcesses(groups).length).toBeGreaterThan(0);
    await engine.close();
    expect(livingProcesses(groups)).toEqual([]);
  });
});

/** The observations as a Markdown table per engine (ENGINES_REPORT). */
function reportTables(): string {
  const out: string[] = [];
  for (const name of ENGINES) {
    const rows = observations.filter((o) => o.engine === name);
    if (rows.length === 0) continue;
    const first = rows[0];
    out.push(`### ${name} ${first?.version}`, '', `User-Agent: \`${first?.exchanges[0]?.request['user-agent'] ?? ''}\``, '');
    out.push('| Server | File | Seeks | Outcome | Requests: Range → status (Content-Range) |', '|---|---|---|---|---|');
    for (const o of rows) {
      const requests = o.exchanges.map((x) => `${x.request.range ?? 'none'} → ${x.status}${x.response['content-range'] ? ` (${x.response['content-range']})` : ''}`).join('; ');
      const atS3 = o.atS3.length === 0 ? '' : `; then at S3: ${o.atS3.map((x) => `${x.request.range ?? 'none'} → ${x.status}`).join('; ')}`;
      out.push(`| ${o.target.label} | ${o.file.split('__')[0]} | ${o.plan.seeks.join(', ')}${o.plan.toEnd ? ', end' : ''} | ${outcome(o)} | ${requests}${atS3} |`);
    }
    // A run's first request apart from the others: WebKit opens differently from how it goes on.
    const firsts = rows.flatMap((o) => o.exchanges.slice(0, 1));
    const laters = rows.flatMap((o) => o.exchanges.slice(1));
    out.push('', `Headers of a run's first request: ${headerValues(firsts)}`, '', `Of the later ones: ${headerValues(laters)}`, '');
  }
  return out.join('\n');
}

/** Every value each request header took in `exchanges` (Host and Referer left out: ports), positions as N. */
function headerValues(exchanges: RecordedExchange[]): string {
  const headers = new Map<string, Set<string>>();
  for (const x of exchanges) {
    for (const [key, value] of Object.entries(x.request)) {
      if (key === 'host' || key === 'referer') continue;
      const values = headers.get(key) ?? new Set<string>();
      values.add(key === 'range' ? String(value).replace(/\d+/g, 'N') : key === 'if-range' ? '<ETag>' : String(value));
      headers.set(key, values);
    }
  }
  return [...headers].map(([key, values]) => `\`${key}: ${[...values].join(' | ')}\``).join(', ');
}
