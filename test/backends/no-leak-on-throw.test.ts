import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SERVE_OPTIONS, serveStream, type ServeOptions } from '../../core/serve';
import type { StreamRequest } from '../../core/request';
import { captureResponseStream } from '../../local/buffered-invoke';
import { installRuntimeGlobal, isStreamingHandler, type StreamingHandler } from '../../local/lambda-runtime';
import { createLocalStorage } from '../../storage/local';
import { createS3Storage } from '../../storage/s3';
import type { Storage } from '../../storage/types';
import { fdsUnder } from '../support/fds';
import { collect } from '../support/http';
import { EVENTS_DIR } from '../support/paths';
import { startSwift, swiftS3ClientConfig, type S3Server } from '../../support/swift';

/**
 * Between opening an object and handing its body to the writer, a throw must still close the file
 * descriptor (local) or destroy the S3 response body (its socket would otherwise stay out of the
 * pool). Real backends: files in a temp dir, and the S3-compatible server of support/swift.ts;
 * each throw is injected at a seam (an option, a wrapped storage, an S3 client middleware, the
 * runtime response stream), and what is left open is counted: descriptors under the folder, sockets
 * the S3 client's agent still has in use.
 */

const NAME = 'clip__1.mp4';
const DATA = randomBytes(300_000);
const BUCKET = 'leaks';

let base: string;
let root: string;
let swift: S3Server;
/** The agent of the S3 client below: a socket it has in use is one a response body still holds. */
const agent = new Agent({ keepAlive: true });
let s3: Storage;

/** How the test's S3 client garbles GetObject answers (HeadObject is left alone): see `tamper`. */
let garble: 'web-stream' | 'bad-last-modified' | 'no-etag' | undefined;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'no-leak-')));
  root = join(base, 'downloads');
  await mkdir(root);
  await writeFile(join(root, NAME), DATA);

  swift = await startSwift();
  const client = new S3Client({ ...swiftS3ClientConfig(swift), maxAttempts: 1, requestHandler: { httpAgent: agent } });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: NAME, Body: DATA }));
  tamper(client);
  s3 = await createS3Storage({ client, bucket: BUCKET, prefix: '', accessDenied: 'missing' });
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await swift?.stop();
  await rm(base, { recursive: true, force: true });
});

/**
 * Two middlewares that make the client's GetObject answers what another S3 server or request
 * handler could give: one rewrites the raw response before the SDK parses it (a Last-Modified the
 * SDK cannot parse makes its deserializer throw, with the live body on the error's $response; no
 * ETag makes storage/s3.ts metaOf throw), the other hands the body over as a web stream, as the
 * SDK's fetch handler does (storage/s3.ts bodyOf refuses it).
 */
function tamper(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as { headers: Record<string, string> };
      if (context.commandName === 'GetObjectCommand') {
        if (garble === 'bad-last-modified') response.headers['last-modified'] = 'yesterday';
        if (garble === 'no-etag') delete response.headers.etag;
      }
      return result;
    },
    // Below the deserializer (priority normal in the same step): it sees the raw response first.
    { step: 'deserialize', priority: 'low', name: 'garbleRawResponse' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as { Body?: unknown };
      if (context.commandName === 'GetObjectCommand' && garble === 'web-stream' && output.Body instanceof Readable) {
        output.Body = Readable.toWeb(output.Body);
      }
      return result;
    },
    { step: 'initialize', name: 'garbleBody' },
  );
}

function get(headers: Record<string, string> = {}): StreamRequest {
  return { method: 'GET', rawPath: `/api/stream/${NAME}`, rawQuery: '', headers };
}

const quiet: ServeOptions = { ...DEFAULT_SERVE_OPTIONS, logError: () => undefined };

/**
 * What `count` rose by since `before`, once it is back (waiting at most 2 s): closing a descriptor
 * or a socket takes a few turns of the event loop. Measured from each test's own start, so that a
 * leak is charged to the test that made it.
 */
async function leftOpen(count: () => number, before: number): Promise<number> {
  for (let i = 0; i < 40 && count() > before; i += 1) await sleep(50);
  return count() - before;
}

const openFiles = () => fdsUnder(root).length;
const s3SocketsInUse = () => Object.values(agent.sockets).reduce((sum, sockets) => sum + (sockets?.length ?? 0), 0);

/** The storage with every found object's `read` throwing at once, as a faulty backend would. */
function readsThrow(inner: Storage): Storage {
  return {
    async open(key, intent) {
      const opened = await inner.open(key, intent);
      if (opened.status !== 'found') return opened;
      const read = () => {
        throw new Error('injected: read');
      };
      return { status: 'found', object: { ...opened.object, read } };
    },
  };
}

describe('core/serve.ts: a throw after storage found the object closes it', () => {
  it('local: planning that throws (the multipart boundary) leaves no descriptor open', async () => {
    const files = openFiles();
    const storage = createLocalStorage(root);
    const boundary = () => {
      throw new Error('injected: boundary');
    };
    const response = await serveStream(get({ range: 'bytes=0-9,20-29' }), storage, { ...quiet, boundary });
    expect(response.status).toBe(500);
    expect(await leftOpen(openFiles, files)).toBe(0);
  });

  it('local: a read that throws while the body is attached leaves no descriptor open', async () => {
    const files = openFiles();
    const response = await serveStream(get({ range: 'bytes=0-9' }), readsThrow(createLocalStorage(root)), quiet);
    expect(response.status).toBe(500);
    expect(await leftOpen(openFiles, files)).toBe(0);
  });

  it('S3: a read that throws while the body is attached destroys the prefetched body', async () => {
    const sockets = s3SocketsInUse();
    const response = await serveStream(get({ range: 'bytes=0-199999' }), readsThrow(s3), quiet);
    expect(response.status).toBe(500);
    expect(await leftOpen(s3SocketsInUse, sockets)).toBe(0);
  });

  it('S3: a presign that throws (an answer too large to stream) destroys the prefetched body', async () => {
    const sockets = s3SocketsInUse();
    const presign = () => Promise.reject(new Error('injected: presign'));
    const response = await serveStream(
      get(),
      { open: (key, intent) => s3.open(key, intent), presign },
      { ...quiet, maxResponseBytes: 1000 },
    );
    expect(response.status).toBe(500);
    expect(await leftOpen(s3SocketsInUse, sockets)).toBe(0);
  });
});

describe('storage/s3.ts: a GetObject answer that cannot be used has its body destroyed', () => {
  const cases = [
    ['a body that is not a Node stream', 'web-stream', 502, /without a body stream/],
    ['a 206 the SDK cannot parse (its deserializer throws)', 'bad-last-modified', 500, /Invalid RFC-?7231 date-time/],
    ['a 206 without an ETag', 'no-etag', 502, /without size, ETag or Last-Modified/],
  ] as const;

  for (const [what, how, status, error] of cases) {
    it(`open: ${what}`, async () => {
      const sockets = s3SocketsInUse();
      const logged: unknown[] = [];
      garble = how;
      try {
        const response = await serveStream(get({ range: 'bytes=0-199999' }), s3, {
          ...quiet,
          logError: (_message, cause) => logged.push(cause),
        });
        expect(response.status).toBe(status);
        expect(String(logged[0])).toMatch(error);
      } finally {
        garble = undefined;
      }
      expect(await leftOpen(s3SocketsInUse, sockets)).toBe(0);
    });
  }

  // (A part's answer is not read for its ETag, If-Match pins its version: no third case.)
  for (const [what, how, , error] of cases.slice(0, 2)) {
    it(`read of a multipart part (lazyRead): ${what}`, async () => {
      const sockets = s3SocketsInUse();
      // HeadObject first (untouched), then one GetObject per part, each made on the first read.
      const response = await serveStream(get({ range: 'bytes=0-149999,150000-299999' }), s3, quiet);
      expect(response.status).toBe(206);
      garble = how;
      try {
        await expect(collect(response.body)).rejects.toThrow(error);
      } finally {
        garble = undefined;
      }
      expect(await leftOpen(s3SocketsInUse, sockets)).toBe(0);
    });
  }
});

describe('handlers/stream.ts: a throw before the body is piped destroys it', () => {
  const context = { functionName: 'test', getRemainingTimeInMillis: () => 30_000 } as Context;
  const saved = { ...process.env };

  afterAll(() => {
    process.env = saved;
  });

  /** The handler module, loaded afresh under `env` (it opens its storage at init). */
  async function handlerWith(env: Record<string, string>): Promise<StreamingHandler> {
    process.env = { ...saved, ACCESS_LOG: 'off', ...env };
    vi.resetModules();
    installRuntimeGlobal();
    const module = await import('../../handlers/stream');
    if (!isStreamingHandler(module.handler)) throw new Error('handler is not streamified');
    return module.handler;
  }

  async function event(range: string): Promise<LambdaFunctionURLEvent> {
    const sample = JSON.parse(await readFile(join(EVENTS_DIR, 'range.json'), 'utf8')) as LambdaFunctionURLEvent;
    const rawPath = `/api/stream/${NAME}`;
    return {
      ...sample,
      rawPath,
      headers: { ...sample.headers, range },
      requestContext: { ...sample.requestContext, http: { ...sample.requestContext.http, path: rawPath } },
    };
  }

  /**
   * A response stream the runtime will not put a prelude on: it was written to already, so
   * HttpResponseStream.from's setContentType throws, as the runtime client's does.
   */
  function refusingPrelude() {
    const capture = captureResponseStream();
    capture.stream.write('already written');
    return capture.stream;
  }

  it('local: the runtime refusing the prelude leaves no descriptor open', async () => {
    const files = openFiles();
    const handler = await handlerWith({ STORAGE: 'local', DOWNLOADS_DIR: root });
    await expect(handler(await event('bytes=0-199999'), refusingPrelude(), context)).rejects.toThrow(/content-type/);
    expect(await leftOpen(openFiles, files)).toBe(0);
  });

  it('local: a response stream destroyed before the answer (the client went away) gets no pipe that waits for ever', async () => {
    const files = openFiles();
    const handler = await handlerWith({ STORAGE: 'local', DOWNLOADS_DIR: root });
    const { stream } = captureResponseStream();
    stream.destroy();
    await expect(handler(await event('bytes=0-199999'), stream, context)).rejects.toThrow(/destroyed before the body/);
    expect(await leftOpen(openFiles, files)).toBe(0);
  }, 3_000);

  it('S3, a pool of one socket: after the runtime refused the prelude, the next request still gets its bytes', async () => {
    const handler = await handlerWith({
      STORAGE: 's3',
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: swift.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: swift.region,
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
      S3_MAX_SOCKETS: '1',
      S3_MAX_ATTEMPTS: '1',
      // A request waiting for the socket a leaked body holds fails within these.
      S3_CONNECT_TIMEOUT_MS: '1000',
      S3_REQUEST_TIMEOUT_MS: '1500',
    });
    await expect(handler(await event('bytes=0-199999'), refusingPrelude(), context)).rejects.toThrow(/content-type/);
    const capture = captureResponseStream();
    await handler(await event('bytes=1000-1999'), capture.stream, context);
    const { head, body } = capture.result();
    expect(head.statusCode).toBe(206);
    expect(body.equals(DATA.subarray(1000, 2000))).toBe(true);
  });
});
