import { createServer, request as httpRequest, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DIRECT_HEADER, type CdnSettings } from '../../core/cdn';
import type { EdgeFunctions } from '../../edge/bundle.mjs';
import type { CfFields, CfRequest, CfResponse } from '../../edge/event';
import { CloudFrontFunction, cloudFrontRequest, isResponse, viewerRequestEvent, viewerResponseEvent } from './cloudfront-sandbox';
import { startNginx, type Nginx, type NginxPaths } from './nginx';

/**
 * A local stand-in for CDN mode's distribution (stack/template.cjs), made of real parts:
 *
 *   client → edge (this module: the bundled viewer-request and viewer-response CloudFront
 *   Functions, run in test/support/cloudfront-sandbox.ts, before and after the cache, as
 *   CloudFront runs them) → nginx (proxy_cache with the slice module: the cache, which keeps a large
 *   file as 1 MiB ranges, as CDNs do) → the origin group `bytes` (S3 under the prefix as OriginPath,
 *   failing over to the function on 403, 404 and 416), or `fn` alone when the viewer-request
 *   function selected it (OriginPath /api/stream).
 *
 * S3 is reached through `oac`, a signer standing for origin access control: CloudFront signs every
 * request to the bucket with SigV4, so the bucket needs no public access; here each request nginx
 * sends is presigned with the bucket owner's key (s3-request-presigner, the SDK's own signing) and
 * passed on. The function is reached as it is (serverless offline checks no IAM signature).
 *
 * The cache key is the distribution's: the path as the viewer-request function rewrote it and the
 * x-stream-direct header (plus the slice, for S3's answers, which nginx keeps slice by slice: see
 * the configuration). Nothing of the query string: the signature never reaches it.
 */
export interface CdnStandInOptions {
  /** buildEdgeFunctions(settings)'s two code strings. */
  readonly edge: EdgeFunctions;
  /** The bucket, as its owner reaches it (the OAC signer's credentials); endpoint: where S3 requests go (a counting proxy). */
  readonly s3: {
    readonly endpoint: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly bucket: string;
  };
  /** The S3 origin's OriginPath (stack/template.cjs originPath(prefix)), e.g. `/downloads`; empty for none. */
  readonly originPath: string;
  /** The function's base URL (`npm start`, CDN_MODE=true); the fn origin adds /api/stream. */
  readonly functionUrl: string;
  /** The cache policy's TTL for S3's answers (cdnMaxAge) and the error caching of a 404 (cdnErrorMaxAge). */
  readonly cache: Pick<CdnSettings, 'maxAge' | 'errorMaxAge'>;
  /** nginx's slice size; default 1 MiB. */
  readonly sliceBytes?: number;
}

/** What the edge did, counted since the stand-in started. */
export interface EdgeCounts {
  /** Viewer requests received. */
  readonly viewer: number;
  /** Refused by CloudFront itself: a method the behaviour does not allow. */
  readonly refusedMethods: number;
  /** Answered by the viewer-request function itself (refusals, preflights): nothing went further. */
  readonly generated: number;
  /** Passed to the cache for the origin group (S3, failover to the function). */
  readonly toBytes: number;
  /** Passed to the cache for the function directly (selectRequestOriginById('fn')). */
  readonly toFn: number;
  /** The functions threw or returned what CloudFront refuses (CloudFront answers 503 then). */
  readonly functionErrors: readonly string[];
  /** Each request passed on, as the viewer-request function left it. */
  readonly forwarded: readonly Forwarded[];
}

export interface Forwarded {
  readonly origin: 'bytes' | 'fn';
  readonly uri: string;
  readonly range: string | undefined;
  /** x-stream-direct: the Range and conditions a direct request carries to the function. */
  readonly direct: string | undefined;
}

export interface CdnStandIn {
  /** The distribution's base URL: `${url}/api/stream/<name>`. */
  readonly url: string;
  readonly sliceBytes: number;
  counts(): EdgeCounts;
  readonly nginx: Nginx;
  stop(): Promise<void>;
}

export const DEFAULT_SLICE_BYTES = 1024 * 1024;

/** Connection-level fields: CloudFront never shows them to a function, nor passes them on. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
];
/** nginx's cache status for a response, which the edge turns into X-Cache (a header no function may see). */
const CACHE_STATUS_HEADER = 'x-stand-in-cache';
/** The distribution's behaviour allows these (an origin group takes no others). */
const ALLOWED_METHODS = ['GET', 'HEAD', 'OPTIONS'];
/** The first path segment of a request to nginx: which origin (group) the edge chose. */
const ROUTES = { bytes: '/bytes', fn: '/fn' } as const;

export async function startCdnStandIn(options: CdnStandInOptions): Promise<CdnStandIn> {
  const sliceBytes = options.sliceBytes ?? DEFAULT_SLICE_BYTES;
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const oac = await startOacSigner(options.s3);
    stops.push(() => oac.stop());
    const fn = new URL(options.functionUrl);
    const nginx = await startNginx((paths) =>
      nginxConfig(paths, { oac: oac.hostPort, fn: fn.host, originPath: options.originPath, sliceBytes, cache: options.cache }),
    );
    stops.push(() => nginx.stop());
    const edge = await startEdge(options.edge, nginx.socket);
    stops.push(() => edge.stop());
    return { url: edge.url, sliceBytes, counts: edge.counts, nginx, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

// ---- nginx: the cache and the origin group ---------------------------------------------------

interface NginxSettings {
  /** host:port of the OAC signer (S3's endpoint for nginx). */
  readonly oac: string;
  /** host:port of the function. */
  readonly fn: string;
  readonly originPath: string;
  readonly sliceBytes: number;
  readonly cache: Pick<CdnSettings, 'maxAge' | 'errorMaxAge'>;
}

/**
 * The configuration, with the reasons for each piece beside it. Every proxy_pass has variables
 * and an IP address: nginx then sends the URI exactly as given (the viewer-request function's
 * percent-encoding, not nginx's decoded and re-encoded form) and needs no resolver.
 */
export function nginxConfig(paths: NginxPaths, settings: NginxSettings): string {
  const { maxAge, errorMaxAge } = settings.cache;
  return `# Written by test/support/cdn-stand-in.ts for one test run.
${paths.userDirective}
worker_processes 1;
pid ${paths.pidFile};
error_log ${paths.errorLog} info;
events { worker_connections 512; }

http {
  log_format stand_in '$request_method $request_uri $status cache=$upstream_cache_status upstream_status=$upstream_status bytes=$body_bytes_sent';
  client_body_temp_path ${paths.temp}/body;
  proxy_temp_path ${paths.temp}/proxy;
  fastcgi_temp_path ${paths.temp}/fastcgi;
  uwsgi_temp_path ${paths.temp}/uwsgi;
  scgi_temp_path ${paths.temp}/scgi;
  server_tokens off;

  proxy_cache_path ${paths.cache} levels=1:2 keys_zone=edge:8m max_size=4g inactive=1d use_temp_path=off;

  # The URI the edge sent, still percent-encoded, without the origin segment.
  map $request_uri $origin_uri {
    "~^/(?:bytes|fn)(?<rest>/[^?]*)" $rest;
    default "";
  }
  # The last upstream's status is 206 (after a failover the list holds S3's status first).
  map $upstream_status $partial_answer {
    "~206$" 1;
    default "";
  }

  proxy_http_version 1.1;
  proxy_connect_timeout 10s;
  proxy_read_timeout 60s;

  # The distribution's front: the origin group's failover, and the function's answers kept as
  # their Cache-Control says. No cache of its own for S3's answers: those are kept by the server
  # below, so that whatever it answers (S3's 403/404/416, or a 416 of its own for a start past the
  # end of a slice it holds) reaches this one as an origin's answer, for error_page to act on
  # with nothing of it kept.
  server {
    listen unix:${paths.socket};
    access_log ${paths.accessLog} stand_in;

    # The origin group: S3 (through the cache of slices below) first, the function on 403, 404, 416.
    location ${ROUTES.bytes}/ {
      proxy_intercept_errors on;
      error_page 403 404 416 = @fn;
      proxy_pass http://unix:${paths.socket}.slices:$request_uri;
    }

    # The group's second member: the same request, as the viewer-request function made it (with
    # a cache, nginx passes no Range on unless told; the function needs it). Its answers are kept
    # as their Cache-Control says (the function's 404 for cdnErrorMaxAge; 416 and direct answers
    # no-store) under the distribution's key, which has no Range: a 404 is then the answer to
    # every range of that name, as in CloudFront. Never a 206: nginx would serve a kept 206 to
    # any other range (a 200 it can cut to each range itself).
    location @fn {
      add_header ${CACHE_STATUS_HEADER} $upstream_cache_status always;
      proxy_cache edge;
      proxy_cache_lock on;
      proxy_cache_key "fn|$origin_uri|$http_x_stream_direct";
      proxy_no_cache $partial_answer;
      proxy_set_header Range $http_range;
      proxy_pass http://${settings.fn}/api/stream$origin_uri$is_args$args;
    }

    # selectRequestOriginById('fn'): the function directly; x-stream-direct carries the Range and
    # conditions, and is in the key, as in the distribution's cache policy.
    location ${ROUTES.fn}/ {
      add_header ${CACHE_STATUS_HEADER} $upstream_cache_status always;
      proxy_cache edge;
      proxy_cache_lock on;
      proxy_cache_key "fn|$origin_uri|$http_x_stream_direct";
      proxy_no_cache $partial_answer;
      proxy_pass http://${settings.fn}/api/stream$origin_uri$is_args$args;
    }

    location / {
      return 421;
    }
  }

  # The cache of S3's answers, in slices. The slice module asks S3 for one slice at a time
  # (Range: $slice_range), keeps each under its own key, and checks that every slice of one answer
  # has the ETag of the first: slices of two versions of an object are never joined into one
  # answer. The viewer's Range is applied to the slices here, as CloudFront serves ranges from
  # its cache.
  server {
    listen unix:${paths.socket}.slices;
    access_log ${paths.dir}/slices.log stand_in;
    # CloudFront's X-Cache, from nginx's view (the edge renames it: functions may not see X-Cache);
    # the front passes it on, or sets its own where it caches.
    add_header ${CACHE_STATUS_HEADER} $upstream_cache_status always;
    location ${ROUTES.bytes}/ {
      proxy_cache edge;
      # Request collapsing: one S3 request for a slice however many viewers ask at once.
      proxy_cache_lock on;
      proxy_cache_lock_timeout 30s;
      # On two loaded cores a slice may take seconds: no second S3 request for it meanwhile.
      proxy_cache_lock_age 30s;
      slice ${settings.sliceBytes};
      proxy_cache_key "$origin_uri|$http_x_stream_direct|$slice_range";
      proxy_set_header Range $slice_range;
      # S3 sends no Cache-Control: the cache policy's TTL (cdnMaxAge) applies.
      proxy_cache_valid 200 206 ${maxAge}s;
      # The group's answer for a missing file is the function's 404, which the distribution keeps
      # cdnErrorMaxAge under the file's key. nginx keeps the failover's answer under a key of the
      # front's, so it keeps S3's 403/404 here as long: neither origin is asked again meanwhile.
      # A 416 is never kept (stack/template.cjs: ErrorCachingMinTTL 0).
      proxy_cache_valid 403 404 ${errorMaxAge}s;
      proxy_pass http://${settings.oac}${settings.originPath}$origin_uri;
    }
  }
}
`;
}

// ---- OAC: S3 requests signed on the way ------------------------------------------------------

interface Signer {
  /** host:port */
  readonly hostPort: string;
  stop(): Promise<void>;
}

/**
 * Stands for the bucket's REST endpoint as CloudFront reaches it with origin access control: the
 * path is the key (OriginPath included), percent-decoded; each request is presigned (SigV4) for
 * the bucket and sent on with its Range. The query string is not: a presigned URL covers only the
 * parameters it was made with, and the only one the edge lets through (`download`) means nothing
 * to S3.
 */
async function startOacSigner(s3: CdnStandInOptions['s3']): Promise<Signer> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const server = createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '/').split('?')[0]?.slice(1) ?? '');
    const command =
      req.method === 'HEAD'
        ? new HeadObjectCommand({ Bucket: s3.bucket, Key: key })
        : new GetObjectCommand({ Bucket: s3.bucket, Key: key });
    getSignedUrl(client, command, { expiresIn: 300 }).then(
      (signed) => {
        const headers: OutgoingHttpHeaders = {};
        if (req.headers.range !== undefined) headers.range = req.headers.range;
        const forward = httpRequest(signed, { method: req.method, headers, timeout: 30_000 }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
          answer.pipe(res);
          res.once('close', () => answer.destroy());
        });
        forward.once('timeout', () => forward.destroy(new Error('S3 did not answer in 30 s')));
        forward.once('error', () => res.destroy());
        res.once('close', () => forward.destroy());
        forward.end();
      },
      () => res.writeHead(500).end(),
    );
  });
  await listen(server);
  return {
    hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
    },
  };
}

// ---- the edge: CloudFront Functions before and after the cache -------------------------------

interface Edge {
  readonly url: string;
  counts(): EdgeCounts;
  stop(): Promise<void>;
}

async function startEdge(code: EdgeFunctions, nginxSocket: string): Promise<Edge> {
  const viewerRequest = new CloudFrontFunction<CfRequest | CfResponse>(code.viewerRequest, 'viewer-request');
  const viewerResponse = new CloudFrontFunction<CfResponse>(code.viewerResponse, 'viewer-response');
  const counts = {
    viewer: 0,
    refusedMethods: 0,
    generated: 0,
    toBytes: 0,
    toFn: 0,
    functionErrors: [] as string[],
    forwarded: [] as Forwarded[],
  };
  const failed = (res: ServerResponse, what: string, error: unknown) => {
    counts.functionErrors.push(`${what}: ${String(error)}`);
    // CloudFront's answer to a function that fails (execution or validation error).
    if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' }).end(`the ${what} function failed\n`);
    else res.destroy();
  };

  const server = createServer((req, res) => {
    counts.viewer += 1;
    if (!ALLOWED_METHODS.includes(req.method ?? '')) {
      // The behaviour's AllowedMethods (stack/template.cjs): CloudFront itself answers the rest
      // 403, before any function runs (README "CDN mode", "Other methods").
      counts.refusedMethods += 1;
      req.resume();
      res
        .writeHead(403, { 'content-type': 'text/html' })
        .end(
          '<html><body>403 ERROR: this distribution is not configured to allow the HTTP request method that was used for this request.</body></html>\n',
        );
      return;
    }
    const rawUrl = req.url ?? '/';
    const at = rawUrl.indexOf('?');
    const input = {
      method: req.method ?? 'GET',
      uri: at === -1 ? rawUrl : rawUrl.slice(0, at),
      rawQuery: at === -1 ? '' : rawUrl.slice(at + 1),
      headers: pairs(req.rawHeaders).filter(([name]) => !HOP_BY_HOP.includes(name.toLowerCase())),
    };
    let result: CfRequest | CfResponse;
    let origin: keyof typeof ROUTES = 'bytes';
    try {
      const ran = viewerRequest.run(viewerRequestEvent(cloudFrontRequest(input)), Date.now());
      result = ran.result;
      for (const call of ran.originCalls) {
        if (call.method !== 'selectRequestOriginById' || call.argument !== 'fn')
          throw new Error(`the stand-in has no origin for ${call.method}(${String(call.argument)})`);
        origin = 'fn';
      }
    } catch (error) {
      failed(res, 'viewer-request', error);
      return;
    }
    req.resume();
    if (isResponse(result)) {
      counts.generated += 1;
      const body =
        typeof result.body === 'string'
          ? Buffer.from(result.body)
          : result.body === undefined
            ? Buffer.alloc(0)
            : Buffer.from(result.body.data, result.body.encoding === 'base64' ? 'base64' : 'utf8');
      // CloudFront sets the length of what a function generates.
      res.writeHead(result.statusCode, { ...headersOf(result.headers), 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }

    const forwarded = result;
    if (origin === 'fn') counts.toFn += 1;
    else counts.toBytes += 1;
    counts.forwarded.push({
      origin,
      uri: forwarded.uri,
      range: forwarded.headers.range?.value,
      direct: forwarded.headers[DIRECT_HEADER]?.value,
    });
    const query = typeof forwarded.querystring === 'string' ? forwarded.querystring : rebuildQuery(forwarded.querystring);
    // The origin request policy (AllViewerExceptHostHeader) forwards every header but Host.
    const { host: _host, ...headers } = headersOf(forwarded.headers);
    const upstream = httpRequest(
      {
        socketPath: nginxSocket,
        method: forwarded.method,
        path: `${ROUTES[origin]}${forwarded.uri}${query === '' ? '' : `?${query}`}`,
        headers,
        timeout: 60_000,
      },
      (answer) => {
        const status = answer.statusCode ?? 502;
        const fields = pairs(answer.rawHeaders).filter(
          ([name]) => !HOP_BY_HOP.includes(name.toLowerCase()) && name.toLowerCase() !== CACHE_STATUS_HEADER,
        );
        const cacheStatus = answer.headers[CACHE_STATUS_HEADER];
        let out: OutgoingHttpHeaders;
        if (status < 400) {
          // CloudFront runs no viewer-response function on answers of 400 and above. Whether its
          // event carries the viewer's request or the forwarded one AWS does not say; the
          // function gives the same headers for both (test/unit/edge.fuzz.test.ts).
          try {
            out = headersOf(
              viewerResponse.run(viewerResponseEvent(forwarded, { statusCode: status, headers: fields }), Date.now()).result.headers,
            );
          } catch (error) {
            answer.destroy();
            failed(res, 'viewer-response', error);
            return;
          }
        } else {
          out = headersOf(cloudFrontRequest({ method: 'GET', uri: '/', rawQuery: '', headers: fields }).headers);
        }
        if (typeof cacheStatus === 'string' && cacheStatus !== '')
          out['x-cache'] = /^(HIT|UPDATING|STALE|REVALIDATED)$/.test(cacheStatus) ? 'Hit from stand-in' : 'Miss from stand-in';
        res.writeHead(status, out);
        answer.pipe(res);
        // A body nginx cuts short (an ETag mismatch between slices) must reach the viewer as cut short.
        answer.once('close', () => {
          if (!answer.complete) res.destroy();
        });
      },
    );
    upstream.once('timeout', () => upstream.destroy(new Error('nginx did not answer in 60 s')));
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('the cache did not answer\n');
      else res.destroy();
    });
    // A viewer that leaves ends the request to the cache (nginx then stops asking for more slices).
    res.once('close', () => upstream.destroy());
    upstream.end();
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ ...counts, functionErrors: [...counts.functionErrors], forwarded: [...counts.forwarded] }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return out;
}

/** CloudFront's fields as Node's outgoing headers: repeats as repeated lines. */
function headersOf(fields: CfFields): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, field] of Object.entries(fields))
    out[name] = field.multiValue === undefined ? field.value : field.multiValue.map((item) => item.value);
  return out;
}

function rebuildQuery(fields: CfFields): string {
  return Object.entries(fields)
    .flatMap(([name, field]) => (field.multiValue ?? [field]).map((item) => `${name}=${item.value}`))
    .join('&');
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}
