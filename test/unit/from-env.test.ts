import { describe, expect, it } from 'vitest';
import { storageFromEnv } from '../../storage/from-env';

describe('storageFromEnv', () => {
  it('serves DOWNLOADS_DIR by default', async () => {
    const storage = await storageFromEnv({ DOWNLOADS_DIR: './downloads' });
    const opened = await storage.open('Sample_Test_Pattern__6f1c2a9e-3b7d-4e58-9a0c-2d4b8e7f1a35.mp4', { body: { kind: 'none' }, conditions: {} });
    expect(opened.status).toBe('found');
    if (opened.status === 'found') await opened.object.close();
  });

  it('serves the bucket when one is configured and STORAGE is not set, as deployed', async () => {
    // Nothing listens on port 9: only an S3 backend would try it (and fail as unreachable).
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    const env = { S3_BUCKET: 'videos', S3_ENDPOINT: 'http://127.0.0.1:9', S3_FORCE_PATH_STYLE: 'true', S3_MAX_ATTEMPTS: '1' };
    const s3 = await storageFromEnv(env);
    await expect(s3.open('a.mp4', { body: { kind: 'none' }, conditions: {} })).rejects.toMatchObject({ name: 'StorageUnavailableError', reason: 'unreachable' });
    const local = await storageFromEnv({ ...env, S3_BUCKET: '', DOWNLOADS_DIR: './downloads' });
    expect(await local.open('a.mp4', { body: { kind: 'none' }, conditions: {} })).toEqual({ status: 'missing' });
  });

  it('refuses to start S3 without a bucket, with a message that says what to set', async () => {
    await expect(storageFromEnv({ STORAGE: 's3' })).rejects.toThrow('S3_BUCKET');
    await expect(storageFromEnv({ STORAGE: 's3', S3_BUCKET: '  ' })).rejects.toThrow('S3_BUCKET');
  });

  it('refuses malformed settings instead of guessing', async () => {
    await expect(storageFromEnv({ STORAGE: 'gcs' })).rejects.toThrow('STORAGE=gcs is not supported');
    await expect(storageFromEnv({ STORAGE: 's3', S3_BUCKET: 'b', S3_REQUEST_TIMEOUT_MS: 'soon' })).rejects.toThrow('S3_REQUEST_TIMEOUT_MS');
    await expect(storageFromEnv({ STORAGE: 's3', S3_BUCKET: 'b', S3_ACCESS_DENIED: 'maybe' })).rejects.toThrow('S3_ACCESS_DENIED');
  });

  it('builds an S3 backend from a complete configuration without contacting S3', async () => {
    const storage = await storageFromEnv({ STORAGE: 'S3', S3_BUCKET: 'b', S3_ENDPOINT: 'http://127.0.0.1:9', S3_FORCE_PATH_STYLE: 'true' });
    expect(typeof storage.open).toBe('function');
  });
});
