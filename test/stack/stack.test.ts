import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/paths';

const run = promisify(execFile);
const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Packaged {
  resources: Record<string, Resource>;
  zip: string;
}

const SECRET = 'a-test-secret-of-more-than-32-characters';
const outputs: string[] = [];
/** `serverless package` as a user runs it, offline: no AWS credentials, no network. */
async function pack(params: string[]): Promise<Packaged> {
  const out = await mkdtemp(join(tmpdir(), 'stack-'));
  outputs.push(out);
  const env: NodeJS.ProcessEnv = { ...process.env, ESBUILD_WORK_FOLDER: `.esbuild-stack-${process.pid}-${outputs.length}` };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'S3_BUCKET', 'S3_PREFIX', 'SIGNING_SECRET', 'CORS_ORIGINS']) delete env[name];
  env.AWS_CONFIG_FILE = env.AWS_SHARED_CREDENTIALS_FILE = join(out, 'none');
  await run(process.execPath, [SERVERLESS, 'package', '--package', out, ...params.map((p) => `--param=${p}`)], { cwd: PROJECT_ROOT, env });
  const template = JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, Resource> };
  return { resources: template.Resources, zip: join(out, 'stream.zip') };
}

const ofType = (p: Packaged, type: string) => Object.values(p.resources).filter((r) => r.Type === type);

let open: Packaged;
let iam: Packaged;
beforeAll(async () => {
  open = await pack(['bucket=my-videos', 'prefix=downloads/']);
  iam = await pack(['bucket=my-videos', 'prefix=downloads/', 'urlAuth=aws_iam', 'apiGateway=true', `signingSecret=${SECRET}`, 'corsOrigins=https://player.example']);
}, 180_000);
afterAll(async () => {
  for (const out of outputs) await rm(out, { recursive: true, force: true });
});

describe('the packaged stack, checked before anyone deploys', () => {
  it('has a Function URL that streams', () => {
    const [url] = ofType(open, 'AWS::Lambda::Url');
    expect(url?.Properties).toMatchObject({ InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
  });

  it('public URL: both lambda:InvokeFunctionUrl and lambda:InvokeFunction (via the URL only) for everyone', () => {
    const grants = ofType(open, 'AWS::Lambda::Permission').map((r) => r.Properties);
    expect(grants).toContainEqual(expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' }));
    expect(grants).toContainEqual(expect.objectContaining({ Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }));
    // Nothing else is granted to everyone.
    expect(grants.filter((g) => g.Principal === '*')).toHaveLength(2);
  });

  it('AWS_IAM URL: no public grant at all', () => {
    const [url] = ofType(iam, 'AWS::Lambda::Url');
    expect(url?.Properties).toMatchObject({ InvokeMode: 'RESPONSE_STREAM', AuthType: 'AWS_IAM' });
    expect(ofType(iam, 'AWS::Lambda::Permission').filter((r) => r.Properties.Principal === '*')).toEqual([]);
  });

  it('the role may read objects under the prefix of the bucket, and nothing else of S3', () => {
    const roles = ofType(open, 'AWS::IAM::Role');
    const statements = roles.flatMap((role) =>
      ((role.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } }>).flatMap(
        (policy) => policy.PolicyDocument.Statement,
      ),
    );
    const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::my-videos/downloads/*' }]);
    expect(JSON.stringify(statements)).not.toContain('s3:ListBucket');
    expect(JSON.stringify(statements)).not.toMatch(/"s3:\*"|arn:aws:s3:::\*/);
  });

  it('runs on Node.js 22 or newer, with memory and timeout set on purpose', () => {
    const [fn] = ofType(open, 'AWS::Lambda::Function');
    expect(String(fn?.Properties.Runtime)).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn?.Properties.MemorySize).toBe(512);
    expect(fn?.Properties.Timeout).toBe(300);
    expect(fn?.Properties.Architectures).toEqual(['arm64']);
    expect(fn?.Properties.Environment).toEqual({
      Variables: expect.objectContaining({ S3_BUCKET: 'my-videos', S3_PREFIX: 'downloads/', API_GATEWAY_STREAMING: 'false' }),
    });
  });

  it('signed links and CORS are off unless given, and reach the function when given', () => {
    const variables = (p: Packaged) => (ofType(p, 'AWS::Lambda::Function')[0]?.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(variables(open)).toMatchObject({ SIGNING_SECRET: '', CORS_ORIGINS: '' });
    expect(variables(iam)).toMatchObject({ SIGNING_SECRET: SECRET, CORS_ORIGINS: 'https://player.example' });
  });

  it('offers an API Gateway REST route in streaming mode only when asked', () => {
    expect(ofType(open, 'AWS::ApiGateway::Method')).toEqual([]);
    const [method] = ofType(iam, 'AWS::ApiGateway::Method');
    const integration = method?.Properties.Integration as { Type: string; ResponseTransferMode: string; Uri: unknown };
    expect(integration.Type).toBe('AWS_PROXY');
    expect(integration.ResponseTransferMode).toBe('STREAM');
    expect(JSON.stringify(integration.Uri)).toContain('/response-streaming-invocations');
    const [fn] = ofType(iam, 'AWS::Lambda::Function');
    expect((fn?.Properties.Environment as { Variables: Record<string, string> }).Variables.API_GATEWAY_STREAMING).toBe('true');
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
