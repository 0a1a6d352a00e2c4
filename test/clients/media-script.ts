/**
 * The one play/seek script every engine runs (test/support/engines.ts sends its source text).
 * It never throws for a playback problem: it reports what the <video> did, so that a test can
 * assert a failure mode as precisely as a success. Everything in it is bounded in time. It must
 * stay self-contained (no imports, no outer names): only its source text reaches the browser.
 */

export interface PlayPlan {
  readonly src: string;
  /** Seconds to seek to, in order; each must be followed by a timeupdate past it. */
  readonly seeks: number[];
  /** After the last seek, play on until `ended`. */
  readonly toEnd: boolean;
  /** How long playback may stand still (no timeupdate moving forward) before it counts as stalled. */
  readonly stallMs: number;
  /** The most any single step may take. */
  readonly stepMs: number;
  /** playbackRate from the start. */
  readonly rate: number;
}

export interface SeekResult {
  readonly target: number;
  /** currentTime of the first timeupdate past the target, or null if none came. */
  readonly reached: number | null;
  readonly ms: number;
}

export interface PlayReport {
  readonly userAgent: string;
  /** Duration as first known (loadedmetadata), and at the end. */
  readonly duration: number;
  readonly finalDuration: number;
  /** Whether playback started and went past 0.5 s. */
  readonly started: boolean;
  readonly seeks: SeekResult[];
  /** `ended` fired (after the last seek, with toEnd). */
  readonly ended: boolean;
  /** Playback stood still for stallMs (or a step ran out of time) before the plan was done. */
  readonly stalled: boolean;
  /**
   * The furthest currentTime a timeupdate reported before `ended` (or before the script stopped):
   * how far the media really played. An element that takes the end of a response for the end of
   * the file fires `ended` early and jumps to its duration, so currentTime alone cannot tell.
   */
  readonly playedTo: number;
  /** How long the play to the end took after the last seek, in ms (0 without toEnd). */
  readonly endMs: number;
  readonly currentTime: number;
  readonly error: number | null;
  readonly readyState: number;
  readonly networkState: number;
  /** The last media events, for the failure message. */
  readonly events: string[];
}

export async function playAndSeek(plan: PlayPlan): Promise<PlayReport> {
  const started = performance.now();
  const events: string[] = [];
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  video.defaultPlaybackRate = plan.rate;
  video.playbackRate = plan.rate;
  let playedTo = 0;
  let lastProgress = performance.now();
  let duration = Number.NaN;
  let stalled = false;
  const log = (type: string) => {
    events.push(`${((performance.now() - started) / 1000).toFixed(1)}s ${type} t=${video.currentTime.toFixed(2)}`);
    if (events.length > 60) events.shift();
  };
  for (const type of ['loadedmetadata', 'canplay', 'playing', 'waiting', 'stalled', 'seeking', 'seeked', 'ended', 'error', 'durationchange', 'emptied', 'suspend']) {
    video.addEventListener(type, () => log(type));
  }
  video.addEventListener('loadedmetadata', () => {
    if (Number.isNaN(duration)) duration = video.duration;
  });
  // Progress is counted from timeupdate events themselves, not from polling currentTime.
  let lastUpdate = -1;
  video.addEventListener('timeupdate', () => {
    if (video.currentTime !== lastUpdate) lastProgress = performance.now();
    lastUpdate = video.currentTime;
    if (!video.ended) playedTo = Math.max(playedTo, video.currentTime);
  });

  /** Resolves true when `test` holds, false when playback stalls or the step runs out of time. */
  const until = (test: () => boolean) =>
    new Promise<boolean>((resolve) => {
      const stepStart = performance.now();
      lastProgress = stepStart;
      const timer = setInterval(() => {
        const now = performance.now();
        if (test()) {
          clearInterval(timer);
          resolve(true);
        } else if (video.error !== null || now - lastProgress > plan.stallMs || now - stepStart > plan.stepMs) {
          clearInterval(timer);
          stalled = video.error === null;
          resolve(false);
        }
      }, 50);
    });

  const seeks: SeekResult[] = [];
  let ended = false;
  let endMs = 0;
  let playing = false;
  video.src = plan.src;
  document.body.append(video);
  // play() may never settle when the media never loads; until() bounds the wait, not the promise.
  video.play().catch((error: unknown) => log(`play() rejected: ${String(error)}`));
  playing = await until(() => lastUpdate > 0.5);
  if (playing) {
    for (const target of plan.seeks) {
      const seekStart = performance.now();
      let reached: number | null = null;
      const onUpdate = () => {
        if (reached === null && !video.seeking && video.currentTime > target + 0.3) reached = video.currentTime;
      };
      video.addEventListener('timeupdate', onUpdate);
      video.currentTime = target;
      const ok = await until(() => reached !== null);
      video.removeEventListener('timeupdate', onUpdate);
      seeks.push({ target, reached, ms: Math.round(performance.now() - seekStart) });
      if (!ok) break;
    }
    if (plan.toEnd && seeks.every((seek) => seek.reached !== null)) {
      const endStart = performance.now();
      ended = await until(() => video.ended);
      endMs = Math.round(performance.now() - endStart);
    }
  }
  video.pause();
  const report: PlayReport = {
    userAgent: navigator.userAgent,
    duration,
    finalDuration: video.duration,
    started: playing,
    seeks,
    ended,
    stalled,
    playedTo,
    endMs,
    currentTime: video.currentTime,
    error: video.error?.code ?? null,
    readyState: video.readyState,
    networkState: video.networkState,
    events,
  };
  // Stop loading: the next run must not share the connection or the bandwidth with this one.
  video.removeAttribute('src');
  video.load();
  return report;
}
