'use strict';
/**
 * The parts of the stack that serverless.yml's variables cannot express, resolved by osls when it
 * reads serverless.yml (`${file(./stack/template.cjs):<export>}`): osls calls an exported function
 * with `{ options, resolveVariable, resolveConfigurationProperty }` and awaits what it returns.
 * CommonJS because osls's `file` source runs only `.js` and `.cjs` files (a `.mjs` file is read as
 * text); `.js` would be an ES module in this package, which only newer Node.js can require().
 *
 * - `resources`: the CDN mode (README "Deploying"): nothing at all unless `cdn=true`, so that the
 *   default template stays exactly what it was; with it, CloudFront in front of the bucket (OAC)
 *   with the function as the failover origin (OAC, AWS_IAM URL), the edge functions, and on demand
 *   a WAF rate limit and the bucket policy.
 * - `reservedConcurrency`: the spend ceiling, parsed from a parameter that may be empty.
 *
 * `node stack/template.cjs waf [limit]` prints a stand-alone template of the same web ACL, for
 * stacks outside us-east-1 (CloudFront's web ACLs can only be created there).
 */

// Logical IDs osls gives the `stream` function and its URL (its naming: <Name>LambdaFunction[Url]).
const FUNCTION = 'StreamLambdaFunction';
const FUNCTION_URL = 'StreamLambdaFunctionUrl';
// Managed origin request policy AllViewerExceptHostHeader (CloudFront Developer Guide, "Use managed
// origin request policies"): every viewer header, cookie and query string except Host, which a
// Function URL origin needs (a forwarded Host breaks its routing and the SigV4 signature). S3
// with OAC ignores what it does not use; both origins of a group share one behaviour's policy.
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
// The error statuses on which the origin group asks the function (README "Deploying"): S3 answers a
// missing key with 403 when it may not list the bucket, and an unsatisfiable range with an XML 416;
// the function gives the contract's JSON for both.
const FAILOVER_STATUSES = [403, 404, 416];
// The header the viewer-request function moves a request's Range and conditions into when only the
// function can answer it (core/cdn.ts DIRECT_HEADER, which test/stack checks this against): in the
// cache key, so that such a request never meets a cached whole object.
const DIRECT_HEADER = 'x-stream-direct';
const RATE_WINDOW_SECONDS = 300;

/** A refusal osls shows as it is: its message without a stack trace. */
function refuse(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

const isTrue = (value) => String(value).trim().toLowerCase() === 'true';

/** A whole number >= min, or refuse with the parameter's name. */
function wholeNumber(name, value, min) {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min) throw refuse(`--param="${name}=${text}": a whole number of at least ${min} is required`);
  return Number(text);
}

/** `downloads/` -> `/downloads`, `a/b/` -> `/a/b`, empty -> none: CloudFront's OriginPath form. */
function originPath(prefix) {
  const path = String(prefix ?? '').replace(/^\/+|\/+$/g, '');
  return path === '' ? undefined : `/${path}`;
}

const distributionArn = { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${CdnDistribution}' };

/** The web ACL: one rate-based rule per client IP, answering over the limit with the contract's JSON. */
function webAcl(limit) {
  return {
    Type: 'AWS::WAFv2::WebACL',
    Properties: {
      Name: { 'Fn::Sub': '${AWS::StackName}-rate-per-ip' },
      Description: `At most ${limit} requests per client IP in ${RATE_WINDOW_SECONDS / 60} minutes`,
      // CloudFront's web ACLs are global and live in us-east-1 (AWS WAF Developer Guide).
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      CustomResponseBodies: {
        'too-many-requests': { ContentType: 'APPLICATION_JSON', Content: '{"detail":"Demasiadas solicitudes"}' },
      },
      Rules: [
        {
          Name: 'rate-per-ip',
          Priority: 0,
          Statement: { RateBasedStatement: { Limit: limit, AggregateKeyType: 'IP', EvaluationWindowSec: RATE_WINDOW_SECONDS } },
          Action: {
            Block: {
              CustomResponse: {
                ResponseCode: 429,
                CustomResponseBodyKey: 'too-many-requests',
                ResponseHeaders: [{ Name: 'Retry-After', Value: String(RATE_WINDOW_SECONDS) }],
              },
            },
          },
          VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'rate-per-ip' },
        },
      ],
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'video-stream-cdn' },
    },
  };
}

/** The code the edge module (edge/bundle.mjs, ES module) builds for `name`, given osls's context. */
async function edgeCode(name, context) {
  const bundle = await import('../edge/bundle.mjs');
  const value = typeof bundle[name] === 'function' ? await bundle[name](context) : bundle[name];
  if (typeof value !== 'string' || !/function handler\s*\(/.test(value))
    throw refuse(`edge/bundle.mjs: ${name} must give the code of a cloudfront-js-2.0 function`);
  return value;
}

async function resources(context) {
  const param = (name) => context.resolveVariable(`param:${name}`);
  const [cdn, bucket, prefix, apiGateway, waf, webAclArn, bucketPolicy] = await Promise.all(
    ['cdn', 'bucket', 'prefix', 'apiGateway', 'waf', 'webAclArn', 'bucketPolicy'].map(param),
  );
  if (!isTrue(cdn)) {
    if (isTrue(waf) || String(webAclArn).trim() || isTrue(bucketPolicy))
      throw refuse('waf, webAclArn and bucketPolicy belong to the CDN mode: add --param="cdn=true"');
    return {};
  }
  const region = await context.resolveVariable('self:provider.region');
  const ttl = wholeNumber('cdnMaxAge', await param('cdnMaxAge'), 1);
  const notFoundTtl = wholeNumber('cdnErrorMaxAge', await param('cdnErrorMaxAge'), 1);
  if (!String(bucket).trim()) throw refuse('The CDN mode serves the bucket through CloudFront: give --param="bucket=<name>"');
  // The function does not check signatures in CDN mode (the edge does): a REST API in front of it
  // would be a public way around the distribution and its signed links.
  if (isTrue(apiGateway))
    throw refuse('apiGateway=true and cdn=true cannot go together: the REST API would bypass the distribution and its signed links');
  if (isTrue(waf) && String(webAclArn).trim())
    throw refuse('Give either waf=true (a web ACL in this stack) or webAclArn=<arn> (an existing one), not both');
  if (isTrue(waf) && region !== 'us-east-1') {
    throw refuse(
      `CloudFront's web ACLs can only be created in us-east-1, and this stack is in ${region}. Create it there with ` +
        '`node stack/template.cjs waf > waf.json && aws cloudformation deploy --region us-east-1 --stack-name video-stream-waf --template-file waf.json`, ' +
        'then deploy this stack with --param="webAclArn=<the WebAclArn output>" instead of waf=true',
    );
  }
  const webAclId = isTrue(waf) ? { 'Fn::GetAtt': ['CdnWebAcl', 'Arn'] } : String(webAclArn).trim() || undefined;
  const s3Path = originPath(prefix);
  const objects = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', bucket, '/', String(prefix ?? ''), '*']] };
  const [viewerRequest, viewerResponse] = await Promise.all([edgeCode('viewerRequest', context), edgeCode('viewerResponse', context)]);
  const bucketStatement = {
    Sid: 'CloudFrontReadsDownloads',
    Effect: 'Allow',
    Principal: { Service: 'cloudfront.amazonaws.com' },
    Action: 's3:GetObject',
    Resource: objects,
    Condition: { StringEquals: { 'AWS:SourceArn': distributionArn } },
  };
  // CloudFront's names (OAC, cache policy, functions) are global to the account: service, stage
  // and region make them unique, as the same service may be deployed in several regions. Checked
  // here, as CloudFormation would only refuse them halfway through a deployment.
  const [service, stage] = await Promise.all([context.resolveVariable('self:service'), context.resolveVariable('sls:stage')]);
  const cloudFrontName = (suffix) => {
    const name = `${service}-${stage}-${region}-${suffix}`;
    if (!/^[\w-]{1,64}$/.test(name))
      throw refuse(`CloudFront name "${name}" is not 1 to 64 letters, digits, - or _: choose a shorter stage name`);
    return name;
  };
  const edgeFunction = (suffix, comment, code) => ({
    Type: 'AWS::CloudFront::Function',
    Properties: {
      Name: cloudFrontName(suffix),
      AutoPublish: true,
      FunctionConfig: { Comment: comment, Runtime: 'cloudfront-js-2.0' },
      FunctionCode: code,
    },
  });
  const oac = (type, description) => ({
    Type: 'AWS::CloudFront::OriginAccessControl',
    Properties: {
      OriginAccessControlConfig: {
        Name: cloudFrontName(type),
        Description: description,
        OriginAccessControlOriginType: type,
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      },
    },
  });

  const Resources = {
    CdnS3OriginAccessControl: oac('s3', 'CloudFront signs its requests to the downloads bucket'),
    CdnLambdaOriginAccessControl: oac('lambda', 'CloudFront signs its requests to the AWS_IAM Function URL'),
    CdnCachePolicy: {
      Type: 'AWS::CloudFront::CachePolicy',
      Properties: {
        CachePolicyConfig: {
          Name: cloudFrontName('bytes'),
          Comment: 'The file name, and the header of requests only the function answers: windows are off in CDN mode',
          // A stored file never changes under its task-id name; an origin's own Cache-Control
          // (max-age, no-store, private) still counts, down to 0.
          DefaultTTL: ttl,
          MaxTTL: ttl,
          MinTTL: 0,
          ParametersInCacheKeyAndForwardedToOrigin: {
            // Video does not compress, and a compressed body breaks byte ranges.
            EnableAcceptEncodingGzip: false,
            EnableAcceptEncodingBrotli: false,
            HeadersConfig: { HeaderBehavior: 'whitelist', Headers: [DIRECT_HEADER] },
            CookiesConfig: { CookieBehavior: 'none' },
            QueryStringsConfig: { QueryStringBehavior: 'none' },
          },
        },
      },
    },
    CdnViewerRequestFunction: edgeFunction('viewer-request', 'Route, method, signed link and Range checks before the cache', viewerRequest),
    CdnViewerResponseFunction: edgeFunction('viewer-response', "The contract's headers on S3's answers", viewerResponse),
    CdnDistribution: {
      Type: 'AWS::CloudFront::Distribution',
      Properties: {
        DistributionConfig: {
          Enabled: true,
          Comment: { 'Fn::Sub': '${AWS::StackName}: /api/stream/{filename} from S3, the function as failover' },
          HttpVersion: 'http2and3',
          IPV6Enabled: true,
          Origins: [
            {
              Id: 's3',
              // The bucket's regional REST endpoint (the bucket is in the stack's region, as the
              // function assumes), under the prefix.
              DomainName: { 'Fn::Join': ['', [bucket, '.s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] },
              ...(s3Path ? { OriginPath: s3Path } : {}),
              // Empty: the origin is reached through OAC, not a legacy origin access identity.
              S3OriginConfig: { OriginAccessIdentity: '' },
              OriginAccessControlId: { 'Fn::GetAtt': ['CdnS3OriginAccessControl', 'Id'] },
            },
            {
              Id: 'fn',
              DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [FUNCTION_URL, 'FunctionUrl'] }] }] },
              OriginPath: '/api/stream',
              CustomOriginConfig: { OriginProtocolPolicy: 'https-only', HTTPSPort: 443, OriginSSLProtocols: ['TLSv1.2'] },
              OriginAccessControlId: { 'Fn::GetAtt': ['CdnLambdaOriginAccessControl', 'Id'] },
            },
          ],
          OriginGroups: {
            Quantity: 1,
            Items: [
              {
                Id: 'bytes',
                FailoverCriteria: { StatusCodes: { Quantity: FAILOVER_STATUSES.length, Items: FAILOVER_STATUSES } },
                Members: { Quantity: 2, Items: [{ OriginId: 's3' }, { OriginId: 'fn' }] },
              },
            ],
          },
          DefaultCacheBehavior: {
            TargetOriginId: 'bytes',
            ViewerProtocolPolicy: 'redirect-to-https',
            // An origin group's behaviour takes no other methods; CloudFront itself answers them 403.
            AllowedMethods: ['GET', 'HEAD', 'OPTIONS'],
            CachedMethods: ['GET', 'HEAD'],
            Compress: false,
            CachePolicyId: { Ref: 'CdnCachePolicy' },
            OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
            FunctionAssociations: [
              { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': ['CdnViewerRequestFunction', 'FunctionARN'] } },
              { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': ['CdnViewerResponseFunction', 'FunctionARN'] } },
            ],
          },
          // Range is not in the cache key: a cached 416 (or a 403) would answer every range of
          // that name. A 404 briefly, since the name may come to exist.
          CustomErrorResponses: [
            { ErrorCode: 403, ErrorCachingMinTTL: 0 },
            { ErrorCode: 404, ErrorCachingMinTTL: notFoundTtl },
            { ErrorCode: 416, ErrorCachingMinTTL: 0 },
          ],
          ...(webAclId ? { WebACLId: webAclId } : {}),
        },
      },
    },
    // CloudFront signs with SigV4 as cloudfront.amazonaws.com; since October 2025 a URL invocation
    // needs both actions granted (CloudFront Developer Guide, "Restrict access to an AWS Lambda
    // function URL origin"). Only this distribution may use them.
    CdnInvokeFunctionUrlPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        FunctionName: { 'Fn::GetAtt': [FUNCTION, 'Arn'] },
        Action: 'lambda:InvokeFunctionUrl',
        Principal: 'cloudfront.amazonaws.com',
        FunctionUrlAuthType: 'AWS_IAM',
        SourceArn: distributionArn,
      },
    },
    CdnInvokeFunctionPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        FunctionName: { 'Fn::GetAtt': [FUNCTION, 'Arn'] },
        Action: 'lambda:InvokeFunction',
        Principal: 'cloudfront.amazonaws.com',
        SourceArn: distributionArn,
      },
    },
  };
  if (isTrue(waf)) Resources.CdnWebAcl = webAcl(wholeNumber('wafRateLimit', await param('wafRateLimit'), 10));
  if (isTrue(bucketPolicy)) {
    // Replaces whatever policy the bucket has, and is deleted with the stack: only for a bucket
    // that has no policy of its own (README "Deploying").
    Resources.CdnBucketPolicy = {
      Type: 'AWS::S3::BucketPolicy',
      Properties: { Bucket: bucket, PolicyDocument: { Version: '2012-10-17', Statement: [bucketStatement] } },
    };
  }

  const Outputs = {
    CdnDomainName: {
      Description: 'The distribution: https://<this>/api/stream/{filename}',
      Value: { 'Fn::GetAtt': ['CdnDistribution', 'DomainName'] },
    },
    CdnDistributionId: { Description: 'For invalidations and logs', Value: { Ref: 'CdnDistribution' } },
  };
  if (!isTrue(bucketPolicy)) {
    // The statement to add to the bucket's own policy, as JSON (README "Deploying").
    Outputs.CdnBucketPolicyStatement = {
      Description: "Add this statement to the bucket's policy: until then S3 refuses CloudFront and the function serves every request",
      Value: {
        'Fn::Join': [
          '',
          [
            '{"Sid":"CloudFrontReadsDownloads","Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:GetObject","Resource":"',
            objects,
            '","Condition":{"StringEquals":{"AWS:SourceArn":"',
            distributionArn,
            '"}}}',
          ],
        ],
      },
    };
  }
  return { Resources, Outputs };
}

/** The function's reserved concurrency: a whole number, or null (no reservation) for none (or '' in a stage's params; osls refuses an empty --param). */
async function reservedConcurrency({ resolveVariable }) {
  const value = String(await resolveVariable('param:reservedConcurrency')).trim();
  return value === '' || value.toLowerCase() === 'none' ? null : wholeNumber('reservedConcurrency', value, 0);
}

module.exports = { resources, reservedConcurrency, originPath, webAcl, DIRECT_HEADER };

if (require.main === module && process.argv[2] === 'waf') {
  const limit = wholeNumber('limit', process.argv[3] ?? '1000', 10);
  const template = {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'Rate limit per client IP for the video-stream distribution (deploy in us-east-1)',
    Resources: { CdnWebAcl: webAcl(limit) },
    Outputs: { WebAclArn: { Value: { 'Fn::GetAtt': ['CdnWebAcl', 'Arn'] } } },
  };
  process.stdout.write(`${JSON.stringify(template, null, 2)}\n`);
}
