import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
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
    // A real endpoint that records every connection and request, answering 404 as S3 does.
    const connections: number[] = [];
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/xml' }).end(req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code></Error>');
    });
    server.on('connection', (socket) => connections.push(socket.remotePort ?? 0));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    try {
      const storage = await storageFromEnv({ STORAGE: 'S3', S3_BUCKET: 'b', S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', S3_MAX_ATTEMPTS: '1' });
      // The server accepts connections in the order they were made: once it has accepted one made
      // now, any the backend made while it was built would be listed before it.
      const probe = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await new Promise<void>((resolve) => probe.once('connect', resolve));
      const probePort = probe.localPort;
      while (!connections.includes(probePort ?? -1)) await new Promise((resolve) => setImmediate(resolve));
      probe.destroy();
      expect([connections, requests]).toEqual([[probePort], []]);
      // And this endpoint is the one it uses: its first request is the first open().
      expect(await storage.open('a.mp4', { body: { kind: 'none' }, conditions: {} })).toEqual({ status: 'missing' });
      expect(requests).toEqual(['HEAD /b/a.mp4']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
