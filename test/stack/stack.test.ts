import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/paths';
import { checkTemplate, type Template } from './cfn-spec';
import { DIRECT_HEADER } from '../../core/cdn';
import { STREAM_PREFIX } from '../../core/route';

const run = promisify(execFile);
const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  [key: string]: unknown;
}
interface Packaged {
  resources: Record<string, Resource>;
  outputs: Record<string, { Value: unknown }>;
  template: Template;
  zip: string;
}

const SECRET = 'a-test-secret-of-more-than-32-characters';
const outputs: string[] = [];
const environment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_REGION',
    'S3_BUCKET',
    'S3_PREFIX',
    'SIGNING_SECRET',
    'CORS_ORIGINS',
  ]) {
    delete env[name];
  }
  env.AWS_CONFIG_FILE = env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent';
  return env;
};
// What `serverless package` reads: the service, its sources, the stack and edge modules.
const SERVICE_FILES = ['serverless.yml', 'package.json', 'tsconfig.json', 'handlers', 'core', 'storage', 'local', 'stack', 'edge'];
/**
 * `serverless package` as a user runs it, offline: no AWS credentials, no network. Each run gets a
 * copy of the service (node_modules linked), because osls empties and writes `.serverless/` in the
 * service's folder whatever --package says: runs in one folder cannot overlap.
 */
async function pack(params: string[], options: string[] = []): Promise<Packaged> {
  const service = await mkdtemp(join(tmpdir(), 'stack-service-'));
  const out = join(service, 'package');
  outputs.push(service);
  await Promise.all(SERVICE_FILES.map((name) => cp(join(PROJECT_ROOT, name), join(service, name), { recursive: true })));
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(service, 'node_modules'));
  const env = environment();
  await run(process.execPath, [SERVERLESS, 'package', '--package', out, ...options, ...params.map((p) => `--param=${p}`)], {
    cwd: service,
    env,
  });
  // The full template. (osls writes the one `deploy` first creates the stack with, its deployment
  // bucket alone, to .serverless/ whatever --package says: a subset of this one.)
  const template = JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return {
    resources: template.Resources as unknown as Record<string, Resource>,
    outputs: template.Outputs as Record<string, { Value: unknown }>,
    template,
    zip: join(out, 'stream.zip'),
  };
}

/** Runs `tasks` at most `width` at a time; their results in order. */
async function inTurns<T extends ReadonlyArray<() => Promise<unknown>>>(
  width: number,
  tasks: T,
): Promise<{ -readonly [K in keyof T]: T[K] extends () => Promise<infer R> ? R : never }> {
  const results: unknown[] = [];
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results as { -readonly [K in keyof T]: T[K] extends () => Promise<infer R> ? R : never };
}

const ofType = (p: Packaged, type: string) => Object.values(p.resources).filter((r) => r.Type === type);
const one = (p: Packaged, type: string): Resource => {
  const found = ofType(p, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const variables = (p: Packaged) =>
  (one(p, 'AWS::Lambda::Function').Properties.Environment as { Variables: Record<string, string> }).Variables;
const get = (value: unknown, path: string): any =>
  path
    .split('.')
    .reduce<any>((v, key) => (v === undefined ? undefined : Array.isArray(v) && /^\d+$/.test(key) ? v[Number(key)] : v[key]), value);
const config = (p: Packaged) => get(one(p, 'AWS::CloudFront::Distribution').Properties, 'DistributionConfig');
/** The distribution's ARN as CloudFormation builds it: it has no Arn attribute, only its Id (Ref). */
const DISTRIBUTION_ARN = { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${CdnDistribution}' };

interface TemplateModule {
  resources(context: { resolveVariable(name: string): Promise<unknown> }): Promise<{ Resources?: Record<string, Resource> }>;
  originPath(prefix: string): string | undefined;
}
const templateModule = createRequire(import.meta.url)('../../stack/template.cjs') as TemplateModule;

let open: Packaged; // the defaults, with a bucket
let iam: Packaged; // AWS_IAM URL, REST API, signed links and CORS, no concurrency reservation
let cdn: Packaged; // CDN mode with its defaults, in another region, with an existing web ACL
let cdnAll: Packaged; // CDN mode with its own web ACL and bucket policy, another prefix and TTL
beforeAll(async () => {
  // Two at a time, one per core: four at once finished no sooner on two cores, and load the
  // machine more while the http project starts its servers.
  [open, iam, cdn, cdnAll] = await inTurns(2, [
    () => pack(['bucket=my-videos', 'prefix=downloads/']),
    () =>
      pack([
        'bucket=my-videos',
        'prefix=downloads/',
        'urlAuth=aws_iam',
        'apiGateway=true',
        `signingSecret=${SECRET}`,
        'corsOrigins=https://player.example',
        'reservedConcurrency=none',
      ]),
    () =>
      pack(
        [
          'bucket=my-videos',
          'prefix=downloads/',
          'cdn=true',
          'urlAuth=none',
          `signingSecret=${SECRET}`,
          'webAclArn=arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1',
        ],
        ['--region', 'eu-west-1'],
      ),
    () =>
      pack([
        'bucket=my-videos',
        'prefix=media/2026/',
        'cdn=true',
        'waf=true',
        'wafRateLimit=500',
        'bucketPolicy=true',
        'reservedConcurrency=10',
        'cdnMaxAge=86400',
        'cdnErrorMaxAge=5',
      ]),
  ] as const);
}, 240_000);
afterAll(async () => {
  for (const out of outputs) await rm(out, { recursive: true, force: true });
});

describe('the packaged stack, checked before anyone deploys', () => {
  it("matches AWS's resource specification, for every combination of parameters that changes it", () => {
    for (const packaged of [open, iam, cdn, cdnAll]) expect(checkTemplate(packaged.template)).toEqual([]);
  });

  it('has a Function URL that streams', () => {
    expect(one(open, 'AWS::Lambda::Url').Properties).toMatchObject({ InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
  });

  it('public URL: both lambda:InvokeFunctionUrl and lambda:InvokeFunction (via the URL only) for everyone', () => {
    const grants = ofType(open, 'AWS::Lambda::Permission').map((r) => r.Properties);
    expect(grants).toContainEqual(
      expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' }),
    );
    expect(grants).toContainEqual(
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }),
    );
    // Nothing else is granted to everyone.
    expect(grants.filter((g) => g.Principal === '*')).toHaveLength(2);
  });

  it('AWS_IAM URL: no public grant at all', () => {
    expect(one(iam, 'AWS::Lambda::Url').Properties).toMatchObject({ InvokeMode: 'RESPONSE_STREAM', AuthType: 'AWS_IAM' });
    expect(ofType(iam, 'AWS::Lambda::Permission').filter((r) => r.Properties.Principal === '*')).toEqual([]);
  });

  it('the role may read objects under the prefix of the bucket, and nothing else of S3', () => {
    const roles = ofType(open, 'AWS::IAM::Role');
    const statements = roles.flatMap((role) =>
      (
        (role.Properties.Policies ?? []) as Array<{
          PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> };
        }>
      ).flatMap((policy) => policy.PolicyDocument.Statement),
    );
    const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::my-videos/downloads/*' }]);
    expect(JSON.stringify(statements)).not.toContain('s3:ListBucket');
    expect(JSON.stringify(statements)).not.toMatch(/"s3:\*"|arn:aws:s3:::\*/);
  });

  it('runs on Node.js 22 or newer, with memory and timeout set on purpose', () => {
    const fn = one(open, 'AWS::Lambda::Function');
    expect(String(fn.Properties.Runtime)).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn.Properties.MemorySize).toBe(512);
    expect(fn.Properties.Timeout).toBe(300);
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(variables(open)).toMatchObject({ S3_BUCKET: 'my-videos', S3_PREFIX: 'downloads/', API_GATEWAY_STREAMING: 'false' });
  });

  it('a spend ceiling: 50 concurrent executions unless told otherwise, none when told so', () => {
    expect(one(open, 'AWS::Lambda::Function').Properties.ReservedConcurrentExecutions).toBe(50);
    expect(one(cdn, 'AWS::Lambda::Function').Properties.ReservedConcurrentExecutions).toBe(50);
    expect(one(cdnAll, 'AWS::Lambda::Function').Properties.ReservedConcurrentExecutions).toBe(10);
    expect(one(iam, 'AWS::Lambda::Function').Properties).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('signed links and CORS are off unless given, and reach the function when given', () => {
    expect(variables(open)).toMatchObject({ SIGNING_SECRET: '', CORS_ORIGINS: '' });
    expect(variables(iam)).toMatchObject({ SIGNING_SECRET: SECRET, CORS_ORIGINS: 'https://player.example' });
  });

  it('offers an API Gateway REST route in streaming mode only when asked', () => {
    expect(ofType(open, 'AWS::ApiGateway::Method')).toEqual([]);
    const integration = one(iam, 'AWS::ApiGateway::Method').Properties.Integration as {
      Type: string;
      ResponseTransferMode: string;
      Uri: unknown;
    };
    expect(integration.Type).toBe('AWS_PROXY');
    expect(integration.ResponseTransferMode).toBe('STREAM');
    expect(JSON.stringify(integration.Uri)).toContain('/response-streaming-invocations');
    expect(variables(iam).API_GATEWAY_STREAMING).toBe('true');
  });

  it('ships a small bundle: the handler and its chunks, nothing else', async () => {
    const { stdout } = await run('unzip', ['-Z1', open.zip]);
    const files = stdout.trim().split('\n');
    expect(files).toContain('handlers/stream.mjs');
    expect(files.every((f) => /^handlers\/[\w.-]+\.mjs$/.test(f))).toBe(true);
    const size = (await stat(open.zip)).size;
    expect(size).toBeLessThan(1024 * 1024);
    console.info(`deployment package: ${size} bytes zipped, ${files.length} files`);
  });
});

describe('without cdn=true the stack is what it was, plus nothing', () => {
  it('has exactly the function, its URL, grants, role, logs and osls deployment bucket', () => {
    for (const packaged of [open, iam]) {
      const types = Object.values(packaged.resources).map((r) => r.Type);
      expect(types.filter((t) => /CloudFront|WAFv2/.test(t))).toEqual([]);
      expect(types.filter((t) => t === 'AWS::S3::BucketPolicy')).toHaveLength(1); // osls's own bucket's
      expect(variables(packaged)).not.toHaveProperty('CDN_MODE');
      expect(Object.keys(packaged.outputs).filter((name) => name.startsWith('Cdn'))).toEqual([]);
      expect(Object.keys(packaged.template).sort()).toEqual(['AWSTemplateFormatVersion', 'Description', 'Outputs', 'Resources']);
    }
    expect(
      Object.keys(open.resources)
        .map((id) => id.replace(/^StreamLambdaVersion\w+$/, 'StreamLambdaVersion'))
        .sort(),
    ).toEqual([
      'IamRoleLambdaExecution',
      'ServerlessDeploymentBucket',
      'ServerlessDeploymentBucketPolicy',
      'StreamLambdaFunction',
      'StreamLambdaFunctionUrl',
      'StreamLambdaPermissionFn',
      'StreamLambdaPermissionFnUrl',
      'StreamLambdaVersion',
      'StreamLogGroup',
    ]);
  });
});

describe('the CDN mode (cdn=true)', () => {
  it('closes the Function URL: AWS_IAM whatever urlAuth says, no public grant, CDN_MODE for the function', () => {
    for (const packaged of [cdn, cdnAll]) {
      expect(one(packaged, 'AWS::Lambda::Url').Properties).toMatchObject({ AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
      expect(ofType(packaged, 'AWS::Lambda::Permission').filter((r) => r.Properties.Principal !== 'cloudfront.amazonaws.com')).toEqual([]);
      expect(variables(packaged).CDN_MODE).toBe('true');
    }
    expect(variables(cdn).SIGNING_SECRET).toBe(SECRET); // the edge's check is baked from the same parameter
  });

  it('grants CloudFront both invoke actions, for this distribution only', () => {
    const grants = ofType(cdn, 'AWS::Lambda::Permission').map((r) => r.Properties);
    const common = {
      FunctionName: { 'Fn::GetAtt': ['StreamLambdaFunction', 'Arn'] },
      Principal: 'cloudfront.amazonaws.com',
      SourceArn: DISTRIBUTION_ARN,
    };
    expect(grants).toHaveLength(2);
    expect(grants).toContainEqual({ ...common, Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'AWS_IAM' });
    expect(grants).toContainEqual({ ...common, Action: 'lambda:InvokeFunction' });
  });

  it('reaches both origins through origin access control: the bucket under the prefix, the URL under /api/stream', () => {
    const { Origins: origins } = config(cdnAll) as { Origins: Array<Record<string, any>> };
    const controls = (p: Packaged) =>
      Object.fromEntries(Object.entries(p.resources).filter(([, r]) => r.Type === 'AWS::CloudFront::OriginAccessControl'));
    const controlOf = (origin: Record<string, any> | undefined) =>
      controls(cdnAll)[origin?.OriginAccessControlId['Fn::GetAtt'][0]]?.Properties.OriginAccessControlConfig;
    const [s3, fn] = [origins.find((o) => o.Id === 's3'), origins.find((o) => o.Id === 'fn')];
    expect(origins).toHaveLength(2);
    expect(controlOf(s3)).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(controlOf(fn)).toMatchObject({ OriginAccessControlOriginType: 'lambda', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(s3).toMatchObject({ OriginPath: '/media/2026', S3OriginConfig: { OriginAccessIdentity: '' } });
    expect(s3?.DomainName).toEqual({ 'Fn::Join': ['', ['my-videos', '.s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] });
    expect(fn).toMatchObject({ OriginPath: '/api/stream', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } });
    // The function's route (core/route.ts), which stack/template.cjs, plain CommonJS, cannot import.
    expect(`${String(fn?.OriginPath)}/`).toBe(STREAM_PREFIX);
    expect(fn?.DomainName).toEqual({
      'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': ['StreamLambdaFunctionUrl', 'FunctionUrl'] }] }],
    });
    expect(get(config(cdn), 'Origins.0.OriginPath')).toBe('/downloads');
    expect(['downloads/', 'a/b/', '', '/x'].map(templateModule.originPath)).toEqual(['/downloads', '/a/b', undefined, '/x']);
  });

  it('asks the function when S3 answers 403, 404 or 416, for GET, HEAD and OPTIONS', () => {
    const distribution = config(cdn);
    expect(distribution.OriginGroups).toEqual({
      Quantity: 1,
      Items: [
        {
          Id: 'bytes',
          FailoverCriteria: { StatusCodes: { Quantity: 3, Items: [403, 404, 416] } },
          Members: { Quantity: 2, Items: [{ OriginId: 's3' }, { OriginId: 'fn' }] },
        },
      ],
    });
    expect(distribution.DefaultCacheBehavior).toMatchObject({
      TargetOriginId: 'bytes',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS'],
      CachedMethods: ['GET', 'HEAD'],
      Compress: false,
    });
    expect(distribution.DefaultCacheBehavior.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // AllViewerExceptHostHeader
    expect(distribution.CacheBehaviors).toBeUndefined();
  });

  it('keys the cache on the file name and the direct-request header, kept a year unless cdnMaxAge says otherwise; errors briefly or not at all', () => {
    const policy = (p: Packaged) => one(p, 'AWS::CloudFront::CachePolicy').Properties.CachePolicyConfig as Record<string, any>;
    expect(policy(cdn).ParametersInCacheKeyAndForwardedToOrigin).toEqual({
      EnableAcceptEncodingGzip: false,
      EnableAcceptEncodingBrotli: false,
      // The edge functions' own name for it (core/cdn.ts): the two may never drift apart.
      HeadersConfig: { HeaderBehavior: 'whitelist', Headers: [DIRECT_HEADER] },
      CookiesConfig: { CookieBehavior: 'none' },
      QueryStringsConfig: { QueryStringBehavior: 'none' },
    });
    expect(policy(cdn)).toMatchObject({ DefaultTTL: 31_536_000, MaxTTL: 31_536_000, MinTTL: 0 });
    expect(policy(cdnAll)).toMatchObject({ DefaultTTL: 86_400, MaxTTL: 86_400, MinTTL: 0 });
    expect(config(cdn).DefaultCacheBehavior.CachePolicyId).toEqual({ Ref: 'CdnCachePolicy' });
    expect(config(cdn).CustomErrorResponses).toEqual([
      { ErrorCode: 403, ErrorCachingMinTTL: 0 },
      { ErrorCode: 404, ErrorCachingMinTTL: 60 },
      { ErrorCode: 416, ErrorCachingMinTTL: 0 },
    ]);
    expect(config(cdnAll).CustomErrorResponses).toContainEqual({ ErrorCode: 404, ErrorCachingMinTTL: 5 });
  });

  it('gives the function in CDN mode the same cache ages as the edge', () => {
    const env = (p: Packaged) => (p.resources.StreamLambdaFunction?.Properties as { Environment: { Variables: Record<string, string> } }).Environment.Variables;
    expect(env(cdn)).toMatchObject({ CDN_MODE: 'true', CDN_MAX_AGE: '31536000', CDN_ERROR_MAX_AGE: '60' });
    expect(env(cdnAll)).toMatchObject({ CDN_MAX_AGE: '86400', CDN_ERROR_MAX_AGE: '5' });
  });

  it('runs the edge functions at viewer request and viewer response, published, in cloudfront-js-2.0, under 10 KB', () => {
    const functions = Object.entries(cdn.resources).filter(([, r]) => r.Type === 'AWS::CloudFront::Function');
    const byId = Object.fromEntries(functions);
    expect(config(cdn).DefaultCacheBehavior.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': ['CdnViewerRequestFunction', 'FunctionARN'] } },
      { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': ['CdnViewerResponseFunction', 'FunctionARN'] } },
    ]);
    expect(functions).toHaveLength(2);
    // Names are global to the account: service, stage and region keep two deployments apart.
    expect(functions.map(([, r]) => r.Properties.Name)).toEqual([
      'video-stream-dev-eu-west-1-viewer-request',
      'video-stream-dev-eu-west-1-viewer-response',
    ]);
    for (const id of ['CdnViewerRequestFunction', 'CdnViewerResponseFunction']) {
      const { AutoPublish, FunctionConfig, FunctionCode } = byId[id]!.Properties as {
        AutoPublish: boolean;
        FunctionConfig: { Runtime: string };
        FunctionCode: string;
      };
      expect(AutoPublish).toBe(true);
      expect(FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
      expect(FunctionCode).toMatch(/function handler\s*\(/);
      expect(Buffer.byteLength(FunctionCode)).toBeLessThanOrEqual(10 * 1024);
    }
  });

  it("outputs the distribution's domain, and the bucket statement to add unless the stack writes the policy", () => {
    expect(cdn.outputs.CdnDomainName?.Value).toEqual({ 'Fn::GetAtt': ['CdnDistribution', 'DomainName'] });
    expect(cdn.outputs.CdnDistributionId?.Value).toEqual({ Ref: 'CdnDistribution' });
    // The output is JSON once CloudFormation has filled in the partition and the distribution.
    const filled = (value: unknown): string =>
      Array.isArray(value)
        ? value.map(filled).join('')
        : typeof value === 'string'
          ? value
          : get(value, 'Ref') === 'AWS::Partition'
            ? 'aws'
            : get(value, 'Fn::Sub')
              ? 'arn:aws:cloudfront::123456789012:distribution/E1'
              : filled(get(value, 'Fn::Join.1'));
    expect(JSON.parse(filled(cdn.outputs.CdnBucketPolicyStatement?.Value))).toEqual({
      Sid: 'CloudFrontReadsDownloads',
      Effect: 'Allow',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::my-videos/downloads/*',
      Condition: { StringEquals: { 'AWS:SourceArn': 'arn:aws:cloudfront::123456789012:distribution/E1' } },
    });
    expect(cdnAll.outputs).not.toHaveProperty('CdnBucketPolicyStatement');
    expect(ofType(cdn, 'AWS::S3::BucketPolicy')).toHaveLength(1); // osls's deployment bucket's only
  });

  it('with bucketPolicy=true, writes a bucket policy that lets this distribution read under the prefix, and nothing else', () => {
    const policies = ofType(cdnAll, 'AWS::S3::BucketPolicy').filter((r) => r.Properties.Bucket === 'my-videos');
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CloudFrontReadsDownloads',
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', 'my-videos', '/', 'media/2026/', '*']] },
          Condition: { StringEquals: { 'AWS:SourceArn': DISTRIBUTION_ARN } },
        },
      ],
    });
  });

  it('with waf=true, a CloudFront web ACL limits each client IP and answers 429 in JSON; webAclArn attaches an existing one', () => {
    const acl = one(cdnAll, 'AWS::WAFv2::WebACL').Properties as Record<string, any>;
    expect(acl).toMatchObject({ Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
    expect(acl.Rules).toHaveLength(1);
    expect(acl.Rules[0].Statement).toEqual({ RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } });
    expect(acl.Rules[0].Action.Block.CustomResponse).toMatchObject({ ResponseCode: 429, CustomResponseBodyKey: 'too-many-requests' });
    expect(JSON.parse(acl.CustomResponseBodies['too-many-requests'].Content)).toEqual({ detail: expect.any(String) });
    expect(config(cdnAll).WebACLId).toEqual({ 'Fn::GetAtt': ['CdnWebAcl', 'Arn'] });
    expect(ofType(cdn, 'AWS::WAFv2::WebACL')).toEqual([]);
    expect(config(cdn).WebACLId).toBe('arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1');
  });

  it('node stack/template.cjs waf prints a stand-alone template of the same web ACL, for us-east-1', async () => {
    const { stdout } = await run(process.execPath, ['stack/template.cjs', 'waf', '500'], { cwd: PROJECT_ROOT });
    const standalone = JSON.parse(stdout) as Template & { Resources: Record<string, Resource> };
    expect(checkTemplate(standalone)).toEqual([]);
    expect(standalone.Resources.CdnWebAcl).toEqual(one(cdnAll, 'AWS::WAFv2::WebACL'));
  });
});

describe('the CDN mode refuses what cannot work', () => {
  const attempt = (params: Record<string, string>, region = 'us-east-1') => {
    const all: Record<string, string> = {
      cdn: 'true',
      bucket: 'my-videos',
      prefix: 'downloads/',
      apiGateway: 'false',
      waf: 'false',
      webAclArn: '',
      bucketPolicy: 'false',
      cdnMaxAge: '60',
      cdnErrorMaxAge: '60',
      wafRateLimit: '100',
      ...params,
    };
    return templateModule.resources({
      resolveVariable: async (name) =>
        ({ 'self:provider.region': region, 'self:service': 'video-stream', 'sls:stage': all.stage ?? 'dev' })[name] ??
        all[name.replace(/^param:/, '')],
    });
  };

  it('a REST API next to it (it would bypass the distribution), no bucket, a web ACL outside us-east-1 or two of them', async () => {
    await expect(attempt({ apiGateway: 'true' })).rejects.toThrow(/apiGateway=true and cdn=true cannot go together/);
    await expect(attempt({ bucket: '' })).rejects.toThrow(/--param="bucket=<name>"/);
    await expect(attempt({ waf: 'true' }, 'eu-west-1')).rejects.toThrow(
      /only be created in us-east-1.*node stack\/template.cjs waf.*webAclArn/,
    );
    await expect(attempt({ waf: 'true', webAclArn: 'arn:x' })).rejects.toThrow(/not both/);
    await expect(attempt({ cdn: 'false', waf: 'true' })).rejects.toThrow(/belong to the CDN mode/);
    await expect(attempt({ cdnMaxAge: 'a year' })).rejects.toThrow(/cdnMaxAge=a year/);
    await expect(attempt({ cdnErrorMaxAge: '0' })).rejects.toThrow(/cdnErrorMaxAge=0/);
    // CloudFront function names: at most 64 characters, checked before CloudFormation would.
    await expect(attempt({ stage: 'a-stage-name-far-too-long-for-cloudfront' })).rejects.toThrow(/choose a shorter stage name/);
    expect(await attempt({ cdn: 'false' })).toEqual({});
    expect(Object.keys((await attempt({ waf: 'true' })).Resources ?? {})).toContain('CdnWebAcl');
  });

  it('and osls stops with that message, before packaging anything', async () => {
    const out = await mkdtemp(join(tmpdir(), 'stack-'));
    outputs.push(out);
    const failure = await run(
      process.execPath,
      [SERVERLESS, 'package', '--package', out, '--param=cdn=true', '--param=bucket=b', '--param=apiGateway=true'],
      {
        cwd: PROJECT_ROOT,
        env: environment(),
      },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    expect(`${failure?.stdout}${failure?.stderr}`).toMatch(/apiGateway=true and cdn=true cannot go together/);
  });
});
