import { corsPolicyOf } from '../core/cors';
import { DEFAULT_SERVE_OPTIONS, type ServeOptions } from '../core/serve';
import { WINDOW_POLICIES, type WindowPolicy } from '../core/window-policy';
import { positiveInteger as positive, type Env } from '../storage/env';

/** What Lambda can return: 200 MB streamed, 6 MB buffered (a base64 body grows by 4/3, plus the JSON around it). */
export const STREAMING_LIMIT = 200 * 1000 * 1000;
export const BUFFERED_BODY_LIMIT = 4 * 1024 * 1024;

/** Response windows and limits from the environment (README "Configuration"), validated at init. */
export function serveOptionsFromEnv(env: Env): { streaming: ServeOptions; buffered: ServeOptions } {
  const maxRangeBytes = positive(env, 'MAX_RANGE_BYTES', DEFAULT_SERVE_OPTIONS.maxRangeBytes);
  const maxResponseBytes = positive(env, 'MAX_RESPONSE_BYTES', DEFAULT_SERVE_OPTIONS.maxResponseBytes);
  if (maxResponseBytes > STREAMING_LIMIT) throw new Error(`MAX_RESPONSE_BYTES may not exceed ${STREAMING_LIMIT}, Lambda's limit for a streamed response`);
  const presignExpiresSeconds = positive(env, 'PRESIGN_EXPIRES_SECONDS', DEFAULT_SERVE_OPTIONS.presignExpiresSeconds);
  // SigV4 presigned URLs live at most 7 days.
  if (presignExpiresSeconds > 604_800) throw new Error('PRESIGN_EXPIRES_SECONDS may not exceed 604800 (7 days)');
  const signingSecret = env.SIGNING_SECRET === undefined || env.SIGNING_SECRET === '' ? undefined : env.SIGNING_SECRET;
  // 32 characters of a random secret (e.g. `openssl rand -base64 32`) cannot be guessed; fewer might.
  if (signingSecret !== undefined && signingSecret.length < 32) throw new Error('SIGNING_SECRET must be at least 32 characters long');
  const cors = corsPolicyOf(env.CORS_ORIGINS);
  const rangeWindows = windowPolicyOf(env.RANGE_WINDOWS);
  const streaming: ServeOptions = { ...DEFAULT_SERVE_OPTIONS, maxRangeBytes, rangeWindows, maxResponseBytes, presignExpiresSeconds, signingSecret, cors };
  const buffered: ServeOptions = {
    ...streaming,
    maxRangeBytes: Math.min(maxRangeBytes, BUFFERED_BODY_LIMIT),
    maxResponseBytes: Math.min(maxResponseBytes, BUFFERED_BODY_LIMIT),
  };
  return { streaming, buffered };
}

function windowPolicyOf(setting: string | undefined): WindowPolicy {
  const value = (setting ?? '').trim().toLowerCase();
  if (value === '') return DEFAULT_SERVE_OPTIONS.rangeWindows;
  const policy = WINDOW_POLICIES.find((p) => p === value);
  if (policy === undefined) throw new Error(`RANGE_WINDOWS must be one of ${WINDOW_POLICIES.join(', ')}, not ${JSON.stringify(setting)}`);
  return policy;
}
