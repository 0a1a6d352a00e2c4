/**
 * Who gets a response window: a 206 shorter than the range asked for (RFC 9110 §15.3.7 allows it).
 * Windows keep Lambda answers inside the 6 MB full-speed allowance and bound what an abandoned
 * request bills, but only a client that asks again for the rest survives one. Measured here
 * (README "Response windows"): Chromium and Firefox media elements do; WebKit's (WebKitGTK, the
 * engine of Safari) takes the end of a response for the end of the file; curl -C -, wget -c and
 * ffmpeg save or play a short 206 as if it were all there is. So by default (`proven`) only media
 * requests from engines on the proven list get windows, and every other client gets exactly the
 * range it asked for. This module is the only place that decides it.
 */

export const WINDOW_POLICIES = ['proven', 'all', 'off'] as const;
/** RANGE_WINDOWS: `proven` (default), `all` (every client but downloads), `off` (nobody). */
export type WindowPolicy = (typeof WINDOW_POLICIES)[number];

export type Engine = 'chromium' | 'firefox' | 'webkit' | 'other';

/** What the request says about its sender, reduced to what the policy reads. */
export interface ClientKind {
  /** `Sec-Fetch-Dest: video` or `audio`: a media element's request (every engine sends it). */
  readonly media: boolean;
  readonly engine: Engine;
}

/** Engines whose media elements were seen to request the rest after a short 206, in every test run. */
export const PROVEN_ENGINES: readonly Engine[] = ['chromium', 'firefox'];

// Every browser on iOS is WebKit whatever it calls itself (CriOS = Chrome, FxiOS = Firefox, ...);
// iPadOS Safari sends a macOS user agent, which the WebKit rule below catches anyway.
const IOS = /\b(?:iPhone|iPad|iPod)\b|\b(?:CriOS|FxiOS|EdgiOS|OPiOS)\//;
const FIREFOX = /\bFirefox\//;
// EdgeHTML (Edge 12-18) carried a Chrome/ token without being Chromium.
const EDGE_HTML = /\bEdge\/\d/;
// HeadlessChrome is what headless Chromium sends (our tests); Edge, Opera, Samsung Internet and
// Android WebView all carry Chrome/.
const CHROMIUM = /\b(?:HeadlessChrome|Chrome|Chromium)\//;
const WEBKIT = /\bAppleWebKit\//;

export function engineOf(userAgent: string | undefined): Engine {
  if (userAgent === undefined) return 'other';
  if (IOS.test(userAgent)) return 'webkit';
  if (FIREFOX.test(userAgent)) return 'firefox';
  if (EDGE_HTML.test(userAgent)) return 'other';
  if (CHROMIUM.test(userAgent)) return 'chromium';
  if (WEBKIT.test(userAgent)) return 'webkit';
  return 'other';
}

export function clientKindOf(secFetchDest: string | undefined, userAgent: string | undefined): ClientKind {
  const dest = secFetchDest?.trim().toLowerCase();
  return { media: dest === 'video' || dest === 'audio', engine: engineOf(userAgent) };
}

/** Why a window does or does not apply; the access log's `window` field when it does not shorten. */
export type WindowReason = 'download' | 'off' | 'all' | 'proven engine' | 'not media' | 'unproven engine';

export interface WindowDecision {
  /** The answer to a range longer than `limit` is shortened to `limit` bytes. */
  readonly applies: boolean;
  /** MAX_RANGE_BYTES. */
  readonly limit: number;
  readonly reason: WindowReason;
  /**
   * Another client asking the same range could be answered differently (the `proven` policy reads
   * Sec-Fetch-Dest and User-Agent): answers longer than `limit` then carry VARY_BY_CLIENT.
   */
  readonly varies: boolean;
}

/** The request headers a `proven` decision read, for caches (RFC 9110 §12.5.5). */
export const VARY_BY_CLIENT = 'Sec-Fetch-Dest, User-Agent';

export function decideWindow(policy: WindowPolicy, client: ClientKind, download: boolean, limit: number): WindowDecision {
  // `?download=1` says "this is a file to keep": never short, whoever asks, under every policy.
  if (download) return { applies: false, limit, reason: 'download', varies: false };
  if (policy === 'off') return { applies: false, limit, reason: 'off', varies: false };
  if (policy === 'all') return { applies: true, limit, reason: 'all', varies: false };
  if (!client.media) return { applies: false, limit, reason: 'not media', varies: true };
  if (!PROVEN_ENGINES.includes(client.engine)) return { applies: false, limit, reason: 'unproven engine', varies: true };
  return { applies: true, limit, reason: 'proven engine', varies: true };
}
