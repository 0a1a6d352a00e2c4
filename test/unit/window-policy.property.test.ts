import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planIntent } from '../../core/intent';
import { parseRequest } from '../../core/parsed-request';
import { planResponse, type Representation } from '../../core/plan';
import { WINDOW_POLICIES, type WindowPolicy } from '../../core/window-policy';
import { modelRangeAnswer } from '../support/range-model';
import { USER_AGENTS, type UserAgentName } from '../../support/user-agents';

/**
 * The window decision over every combination of policy, Sec-Fetch-Dest, User-Agent, range shape,
 * size, limits and ?download=1, against an oracle written from the README's rules (not from
 * core/window-policy.ts) and the independent range model.
 */

// The README's table: engines whose media elements were proven to continue after a short 206.
const PROVEN: ReadonlySet<UserAgentName> = new Set(['chrome', 'headlessChromium', 'edge', 'androidChrome', 'firefox', 'androidFirefox']);

const windowsApply = (policy: WindowPolicy, dest: string | undefined, agent: UserAgentName | undefined, download: boolean) =>
  !download &&
  (policy === 'all' || (policy === 'proven' && (dest === 'video' || dest === 'audio') && agent !== undefined && PROVEN.has(agent)));

const digits = (max: number) => fc.nat({ max }).map(String);
const rangeHeader = (size: number) =>
  fc.oneof(
    fc
      .tuple(digits(size + 50), digits(size + 50))
      .map(([a, b]) => `bytes=${Math.min(Number(a), Number(b))}-${Math.max(Number(a), Number(b))}`),
    digits(size + 50).map((a) => `bytes=${a}-`),
    digits(size + 50).map((n) => `bytes=-${n}`),
    fc
      .array(fc.tuple(digits(size), digits(200)), { minLength: 2, maxLength: 3 })
      .map((rs) => `bytes=${rs.map(([a, w]) => `${a}-${Number(a) + Number(w)}`).join(',')}`),
  );

const scenario = fc.integer({ min: 0, max: 6_000 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    range: fc.option(rangeHeader(size), { nil: undefined }),
    policy: fc.constantFrom(...WINDOW_POLICIES),
    dest: fc.constantFrom(undefined, 'video', 'audio', 'empty', 'document'),
    agent: fc.constantFrom(undefined, ...(Object.keys(USER_AGENTS) as UserAgentName[])),
    download: fc.boolean(),
    method: fc.constantFrom('GET' as const, 'HEAD' as const),
    limit: fc.integer({ min: 1, max: 3_000 }),
    maxResponseBytes: fc.integer({ min: 1, max: 8_000 }),
    canOffload: fc.boolean(),
  }),
);

describe('the window decision, in the pure core', () => {
  it(
    'shortens exactly where the policy says, never answers short otherwise, and says Vary where the client mattered',
    { timeout: 60_000 },
    () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const headers: Record<string, string> = {};
          if (s.range !== undefined) headers.range = s.range;
          if (s.dest !== undefined) headers['sec-fetch-dest'] = s.dest;
          if (s.agent !== undefined) headers['user-agent'] = USER_AGENTS[s.agent];
          const request = parseRequest(s.method, headers, s.download ? 'download=1' : '', { policy: s.policy, maxRangeBytes: s.limit });
          const rep: Representation = { size: s.size, etag: '"e"', lastModified: 1_700_000_000_000, contentType: 'video/mp4' };
          const plan = planResponse(
            request,
            rep,
            { maxParts: 16, boundary: () => 'B', maxResponseBytes: s.maxResponseBytes },
            { name: 'a__1.mp4', canOffload: s.canOffload },
          );
          const applies = windowsApply(s.policy, s.dest, s.agent, s.download);
          const tooLarge = s.canOffload ? 307 : 413;
          const model = modelRangeAnswer(s.range, s.size);
          const vary = plan.headers.vary;

          if (model.status !== 206) {
            // No range to shorten: the whole file (or 416), the same for every client.
            if (model.status === 416) expect(plan.status).toBe(416);
            else expect(plan.status).toBe(s.size > s.maxResponseBytes ? tooLarge : 200);
            expect(vary).toBeUndefined();
            return;
          }
          const [first, ...more] = model.runs;
          if (first === undefined) throw new Error('a 206 with no runs');
          const asked = first[1] - first[0] + 1;
          if (more.length === 0) {
            const sentLength = applies ? Math.min(asked, s.limit) : asked;
            if (sentLength > s.maxResponseBytes) {
              expect(plan.status).toBe(tooLarge);
            } else {
              expect(plan.status).toBe(206);
              expect(plan.headers['content-range']).toBe(`bytes ${first[0]}-${first[0] + sentLength - 1}/${s.size}`);
              expect(plan.shortened === true).toBe(sentLength < asked);
            }
            // Another client could have been answered otherwise exactly when the policy reads the
            // client and the range is longer than one window.
            expect(vary !== undefined).toBe(s.policy === 'proven' && !s.download && asked > s.limit);
            if (vary !== undefined) expect(vary).toBe('Sec-Fetch-Dest, User-Agent');

            // The intent asks storage for what the plan sends, never for more than one window.
            const hint = planIntent(request).intent.body;
            if (s.method === 'GET' && hint.kind === 'range' && hint.range.kind === 'from' && plan.status === 206) {
              expect(hint.range.start).toBe(first[0]);
              const end = hint.range.end ?? Number.POSITIVE_INFINITY;
              expect(end).toBeGreaterThanOrEqual(first[0] + sentLength - 1);
              if (applies) expect(end - first[0] + 1).toBeLessThanOrEqual(s.limit);
            }
          } else if (plan.status === 206) {
            // Several ranges: a windowed answer never exceeds one window.
            const length = Number(plan.headers['content-length']);
            if (applies) expect(length).toBeLessThanOrEqual(s.limit);
            if (!applies && plan.headers['content-range'] !== undefined)
              throw new Error('a client without windows got one range of several');
          }
          // Validators never depend on the client.
          if (plan.status === 200 || plan.status === 206)
            expect([plan.headers.etag, plan.headers['accept-ranges']]).toEqual(['"e"', 'bytes']);
        }),
        { numRuns: 10_000, seed: 20261201 },
      );
    },
  );

  it('answers one range to every client with the same validators, and with the whole range to all but windowed players', () => {
    const rep: Representation = { size: 52_428_800, etag: '"v"', lastModified: 1_700_000_000_000, contentType: 'video/mp4' };
    const answers = (Object.keys(USER_AGENTS) as UserAgentName[]).flatMap((agent) =>
      [undefined, 'video'].map((dest) => {
        const headers: Record<string, string> = {
          range: 'bytes=10485760-',
          'user-agent': USER_AGENTS[agent],
          ...(dest ? { 'sec-fetch-dest': dest } : {}),
        };
        const request = parseRequest('GET', headers, '', { policy: 'proven', maxRangeBytes: 4 * 1024 * 1024 });
        return {
          agent,
          dest,
          plan: planResponse(
            request,
            rep,
            { maxParts: 16, boundary: () => 'B', maxResponseBytes: 190 * 1024 * 1024 },
            { name: 'x__1.mp4', canOffload: false },
          ),
        };
      }),
    );
    for (const { agent, dest, plan } of answers) {
      const windowed = dest === 'video' && PROVEN.has(agent);
      expect(plan.headers['content-range'], `${agent} ${dest}`).toBe(
        windowed ? 'bytes 10485760-14680063/52428800' : 'bytes 10485760-52428799/52428800',
      );
      expect([plan.headers.etag, plan.headers['last-modified'], plan.headers.vary]).toEqual([
        '"v"',
        new Date(1_700_000_000_000).toUTCString(),
        'Sec-Fetch-Dest, User-Agent',
      ]);
    }
  });
});
