import { describe, expect, it } from 'vitest';
import { serveOptionsFromEnv } from '../../handlers/config';
import { DEFAULT_MAX_RANGE_BYTES, DEFAULT_MAX_RESPONSE_BYTES } from '../../core/plan';

describe('serveOptionsFromEnv', () => {
  it('defaults: 4 MiB windows, 190 MiB responses, 5-minute presigned URLs; buffered answers within 4 MiB', () => {
    const { streaming, buffered } = serveOptionsFromEnv({ MAX_RANGE_BYTES: '' });
    expect([streaming.maxRangeBytes, streaming.maxResponseBytes, streaming.presignExpiresSeconds]).toEqual([DEFAULT_MAX_RANGE_BYTES, DEFAULT_MAX_RESPONSE_BYTES, 300]);
    expect([buffered.maxRangeBytes, buffered.maxResponseBytes]).toEqual([4 * 1024 * 1024, 4 * 1024 * 1024]);
  });

  it('takes smaller settings, and keeps buffered answers within the buffered limit', () => {
    const { streaming, buffered } = serveOptionsFromEnv({ MAX_RANGE_BYTES: '262144', MAX_RESPONSE_BYTES: '50000000', PRESIGN_EXPIRES_SECONDS: '60' });
    expect([streaming.maxRangeBytes, streaming.maxResponseBytes, streaming.presignExpiresSeconds]).toEqual([262_144, 50_000_000, 60]);
    expect([buffered.maxRangeBytes, buffered.maxResponseBytes]).toEqual([262_144, 4 * 1024 * 1024]);
  });

  it('refuses settings Lambda cannot honour, at init', () => {
    expect(() => serveOptionsFromEnv({ MAX_RESPONSE_BYTES: String(250 * 1000 * 1000) })).toThrow('MAX_RESPONSE_BYTES');
    expect(() => serveOptionsFromEnv({ MAX_RANGE_BYTES: '-1' })).toThrow('MAX_RANGE_BYTES');
    expect(() => serveOptionsFromEnv({ MAX_RANGE_BYTES: '4MB' })).toThrow('MAX_RANGE_BYTES');
    expect(() => serveOptionsFromEnv({ PRESIGN_EXPIRES_SECONDS: '999999' })).toThrow('PRESIGN_EXPIRES_SECONDS');
  });
});
