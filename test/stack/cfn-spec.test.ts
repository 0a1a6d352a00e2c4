import { describe, expect, it } from 'vitest';
import { checkTemplate, type Template } from './cfn-spec';

/** A small valid template that uses the shapes the packaged one uses: nested types, lists, maps, intrinsics. */
function valid(): Template {
  return {
    Conditions: { InUsEast1: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
          },
        },
      },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Code: { ZipFile: 'exports.handler = async () => ({})' },
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          MemorySize: 512,
          Timeout: '300', // CloudFormation takes numeric strings for numbers
          Architectures: ['arm64'],
          ReservedConcurrentExecutions: { 'Fn::If': ['InUsEast1', 10, { Ref: 'AWS::NoValue' }] },
          Environment: { Variables: { A: 'a', B: { 'Fn::Sub': '${AWS::Region}-${Fn}-${!Literal}' } } },
        },
      },
      Url: {
        Type: 'AWS::Lambda::Url',
        Properties: { TargetFunctionArn: { Ref: 'Fn' }, AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' },
      },
      Oac: {
        Type: 'AWS::CloudFront::OriginAccessControl',
        Properties: {
          OriginAccessControlConfig: {
            Name: 'x',
            OriginAccessControlOriginType: 'lambda',
            SigningBehavior: 'always',
            SigningProtocol: 'sigv4',
          },
        },
      },
      Distribution: {
        Type: 'AWS::CloudFront::Distribution',
        DependsOn: ['Url'],
        Properties: {
          DistributionConfig: {
            Enabled: true,
            Origins: [
              {
                Id: 'fn',
                DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': ['Url', 'FunctionUrl'] }] }] },
                OriginAccessControlId: { 'Fn::GetAtt': ['Oac', 'Id'] },
                CustomOriginConfig: { OriginProtocolPolicy: 'https-only' },
              },
            ],
            DefaultCacheBehavior: {
              TargetOriginId: 'fn',
              ViewerProtocolPolicy: 'redirect-to-https',
              CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
            },
          },
        },
      },
    },
    Outputs: { Domain: { Value: { 'Fn::GetAtt': ['Distribution', 'DomainName'] } } },
  };
}

/** The template after `change`, and what the checker says of it. */
function broken(change: (t: Template & { Resources: Record<string, { Properties: Record<string, any> }> }) => void): string[] {
  const template = valid() as Template & { Resources: Record<string, { Properties: Record<string, any> }> };
  change(template);
  return checkTemplate(template);
}

describe('the template checker (AWS resource specification)', () => {
  it('passes a valid template that uses intrinsic functions, nested types, lists and maps', () => {
    expect(checkTemplate(valid())).toEqual([]);
  });

  it('finds a misspelt property, at the top and in a nested type', () => {
    expect(broken((t) => (t.Resources.Fn!.Properties.MemorySzie = 512))).toEqual([
      'Resources.Fn.Properties: Function has no property "MemorySzie"',
    ]);
    expect(
      broken((t) => {
        const behavior = t.Resources.Distribution!.Properties.DistributionConfig.DefaultCacheBehavior;
        behavior.TargetOriginID = behavior.TargetOriginId;
        delete behavior.TargetOriginId;
      }),
    ).toEqual([
      'Resources.Distribution.Properties.DistributionConfig.DefaultCacheBehavior: DefaultCacheBehavior has no property "TargetOriginID"',
      'Resources.Distribution.Properties.DistributionConfig.DefaultCacheBehavior: DefaultCacheBehavior requires "TargetOriginId"',
    ]);
  });

  it('finds a wrong type: a word for an integer, a string for a list, a list for an object, a non-boolean', () => {
    expect(broken((t) => (t.Resources.Fn!.Properties.MemorySize = 'lots'))).toEqual([
      'Resources.Fn.Properties.MemorySize: expected an integer, got "lots"',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.Architectures = 'arm64'))).toEqual([
      'Resources.Fn.Properties.Architectures: expected a list, got "arm64"',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.Environment = [{ Variables: {} }]))).toEqual([
      'Resources.Fn.Properties.Environment: expected an object (Environment), got [{"Variables":{}}]',
    ]);
    expect(broken((t) => (t.Resources.Distribution!.Properties.DistributionConfig.Enabled = 'yes'))).toEqual([
      'Resources.Distribution.Properties.DistributionConfig.Enabled: expected a boolean, got "yes"',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.Environment.Variables.A = { x: 1 }))).toEqual([
      'Resources.Fn.Properties.Environment.Variables.A: expected a string, got {"x":1}',
    ]);
  });

  it('finds a value outside the allowed ones, and a wrong branch of Fn::If', () => {
    expect(broken((t) => (t.Resources.Url!.Properties.AuthType = 'IAM'))).toEqual([
      'Resources.Url.Properties.AuthType: "IAM" is not one of AWS_IAM, NONE',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.ReservedConcurrentExecutions = { 'Fn::If': ['InUsEast1', 'ten', 1] }))).toEqual([
      'Resources.Fn.Properties.ReservedConcurrentExecutions.Fn::If[1]: expected an integer, got "ten"',
    ]);
  });

  it('finds a missing required property, at the top and in a nested type', () => {
    expect(broken((t) => delete t.Resources.Fn!.Properties.Role)).toEqual(['Resources.Fn.Properties: Function requires "Role"']);
    expect(broken((t) => delete t.Resources.Distribution!.Properties.DistributionConfig.Enabled)).toEqual([
      'Resources.Distribution.Properties.DistributionConfig: DistributionConfig requires "Enabled"',
    ]);
  });

  it('finds an unknown GetAtt attribute, in a property, an Fn::Sub and an output', () => {
    // A distribution has no Arn attribute: its ARN must be built from its Id.
    expect(broken((t) => (t.Resources.Fn!.Properties.Environment.Variables.A = { 'Fn::GetAtt': ['Distribution', 'Arn'] }))).toEqual([
      'Resources.Fn.Properties.Environment.Variables.A: AWS::CloudFront::Distribution has no attribute "Arn" (it has: DomainName, Id)',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.Environment.Variables.A = { 'Fn::Sub': '${Distribution.Arn}' }))).toHaveLength(1);
    expect(
      broken((t) => {
        t.Outputs = { Url: { Value: { 'Fn::GetAtt': 'Url.Url' } } };
      }),
    ).toEqual(['Outputs.Url.Value: AWS::Lambda::Url has no attribute "Url" (it has: FunctionArn, FunctionUrl)']);
  });

  it('finds references to nothing: Ref, GetAtt, Fn::Sub, DependsOn, a condition', () => {
    expect(broken((t) => (t.Resources.Url!.Properties.TargetFunctionArn = { Ref: 'Function' }))).toEqual([
      'Resources.Url.Properties.TargetFunctionArn: Ref to "Function", which is no resource, parameter or pseudo parameter',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.Role = { 'Fn::GetAtt': ['Rol', 'Arn'] }))).toEqual([
      'Resources.Fn.Properties.Role: GetAtt of "Rol", which is no resource',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.Environment.Variables.B = { 'Fn::Sub': '${AWS::Regoin}' }))).toHaveLength(1);
    expect(broken((t) => ((t.Resources.Distribution as { DependsOn: string[] }).DependsOn = ['URL']))).toEqual([
      'Resources.Distribution.DependsOn: "URL" is no resource',
    ]);
    expect(broken((t) => (t.Resources.Fn!.Properties.ReservedConcurrentExecutions = { 'Fn::If': ['InEu', 1, 2] }))).toEqual([
      'Resources.Fn.Properties.ReservedConcurrentExecutions: condition "InEu" is not defined',
    ]);
  });

  it('finds an unknown resource type and an unknown resource attribute', () => {
    expect(broken((t) => ((t.Resources.Oac as { Type: string }).Type = 'AWS::CloudFront::OriginAccessControls'))).toEqual([
      'Resources.Oac: unknown resource type AWS::CloudFront::OriginAccessControls',
    ]);
    expect(broken((t) => ((t.Resources.Oac as Record<string, unknown>).Propeties = {}))).toEqual([
      'Resources.Oac: unknown resource attribute "Propeties"',
    ]);
  });
});
