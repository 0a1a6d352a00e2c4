import { DEFAULT_CDN_ERROR_MAX_AGE, DEFAULT_CDN_MAX_AGE, type CdnSettings } from '../core/cdn';
import { corsPolicyOf } from '../core/cors';
import { positiveInteger as positive, type Env } from '../core/env';
import { DEFAULT_SERVE_OPTIONS, type ServeOptions } from '../core/serve';
import { WINDOW_POLICIES, type WindowPolicy } from '../core/window-policy';

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
  const cdn = cdnSettingsOf(env, signingSecret !== undefined);
  // Behind CloudFront the core gives windows only to answers no cache keeps (core/serve.ts), and
  // the function checks no signature (the viewer-request function checked it and removed the
  // parameters).
  const rangeWindows = windowPolicyOf(env.RANGE_WINDOWS);
  const streaming: ServeOptions = {
    ...DEFAULT_SERVE_OPTIONS,
    maxRangeBytes,
    rangeWindows,
    maxResponseBytes,
    presignExpiresSeconds,
    signingSecret: cdn === undefined ? signingSecret : undefined,
    cors,
    cdn,
  };
  const buffered: ServeOptions = {
    ...streaming,
    maxRangeBytes: Math.min(maxRangeBytes, BUFFERED_BODY_LIMIT),
    maxResponseBytes: Math.min(maxResponseBytes, BUFFERED_BODY_LIMIT),
  };
  return { streaming, buffered };
}

/** CDN_MODE=true (set by serverless.yml with --param="cdn=true"), its cache ages; undefined when off. */
function cdnSettingsOf(env: Env, signed: boolean): CdnSettings | undefined {
  const mode = (env.CDN_MODE ?? '').trim().toLowerCase();
  if (mode === '' || mode === 'false') return undefined;
  if (mode !== 'true') throw new Error(`CDN_MODE must be true or false, not ${JSON.stringify(env.CDN_MODE)}`);
  return {
    maxAge: positive(env, 'CDN_MAX_AGE', DEFAULT_CDN_MAX_AGE),
    errorMaxAge: positive(env, 'CDN_ERROR_MAX_AGE', DEFAULT_CDN_ERROR_MAX_AGE),
    signed,
  };
}

/** What the function says at every cold start about who can reach the files. */
export function accessWarnings(options: ServeOptions): string[] {
  if (options.cdn === undefined) {
    return options.signingSecret === undefined ? ['SIGNING_SECRET is not set: every file is served to anyone who knows its name'] : [];
  }
  const warnings = ['CDN_MODE: this function checks no signed link; the CloudFront viewer-request function does the checking, so the Function URL must take only signed requests from the distribution (AuthType AWS_IAM)'];
  if (!options.cdn.signed) warnings.push('SIGNING_SECRET is not set: every file is served through the distribution to anyone who knows its name');
  return warnings;
}

function windowPolicyOf(setting: string | undefined): WindowPolicy {
  const value = (setting ?? '').trim().toLowerCase();
  if (value === '') return DEFAULT_SERVE_OPTIONS.rangeWindows;
  const policy = WINDOW_POLICIES.find((p) => p === value);
  if (policy === undefined) throw new Error(`RANGE_WINDOWS must be one of ${WINDOW_POLICIES.join(', ')}, not ${JSON.stringify(setting)}`);
  return policy;
}
