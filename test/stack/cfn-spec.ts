/**
 * Checks a CloudFormation template against AWS's published resource specification, as the AWS CDK
 * ships it (`@aws-cdk/aws-service-spec`, a gzipped JSON database of every resource type). What
 * `serverless package` writes is otherwise only checked by CloudFormation itself, at deploy time,
 * on an AWS account the tests do not have.
 *
 * Checked: every resource type exists; every property name exists on its type (nested property
 * types too); values have the declared shape (string, number, integer, boolean, list, map, JSON,
 * nested type, or one of a union), strings are among the allowed values where the spec lists
 * them; required properties are present; `Ref`, `Fn::GetAtt`, `Fn::Sub` name resources,
 * parameters or pseudo parameters that exist, and GetAtt names an attribute the type has;
 * `DependsOn` and `Condition` name what exists. An intrinsic function stands for any value: what it
 * yields is only known at deploy time (except `Fn::If`, whose two branches are checked as values).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';

/** The part of the database's type model the checker reads (service-spec-types' PropertyType). */
export type SpecType =
  | { type: 'string'; allowedValues?: string[] }
  | { type: 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'integer'; allowedValues?: number[] }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: SpecType }
  | { type: 'union'; types: SpecType[] };
export interface SpecProperty {
  type: SpecType;
  required?: boolean;
}
export interface SpecShape {
  name: string;
  properties: Record<string, SpecProperty>;
}
export interface SpecResource extends SpecShape {
  cloudFormationType: string;
  attributes: Record<string, unknown>;
}
export interface Spec {
  resource(cloudFormationType: string): SpecResource | undefined;
  typeDefinition(id: string): SpecShape;
}

let loaded: Spec | undefined;
/** The database, loaded once per process (about a second: 15 MB of JSON). */
export function awsSpec(): Spec {
  if (!loaded) {
    const db = loadAwsServiceSpecSync();
    loaded = {
      resource: (type) => db.lookup('resource', 'cloudFormationType', 'equals', type)[0] as SpecResource | undefined,
      typeDefinition: (id) => db.get('typeDefinition', id) as SpecShape,
    };
  }
  return loaded;
}

interface TemplateResource {
  Type?: unknown;
  Properties?: unknown;
  DependsOn?: unknown;
  Condition?: unknown;
  [key: string]: unknown;
}
export interface Template {
  Resources?: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value?: unknown; Condition?: unknown; [key: string]: unknown }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  [key: string]: unknown;
}

const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
  'Metadata',
]);
const INTRINSICS = new Set([
  'Ref',
  'Condition',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::FindInMap',
  'Fn::GetAtt',
  'Fn::GetAZs',
  'Fn::If',
  'Fn::ImportValue',
  'Fn::Join',
  'Fn::Length',
  'Fn::Select',
  'Fn::Split',
  'Fn::Sub',
  'Fn::ToJsonString',
  'Fn::And',
  'Fn::Equals',
  'Fn::Not',
  'Fn::Or',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `{ "Fn::X": … }` with exactly one key that names an intrinsic function. */
function intrinsicOf(v: unknown): [string, unknown] | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  const name = keys.length === 1 ? keys[0]! : '';
  if (!INTRINSICS.has(name)) return undefined;
  // {"Condition": "Name"} is a condition reference (inside Fn::And, Fn::Or, Fn::Not); an object
  // under a property called Condition (an IAM statement's) is not.
  if (name === 'Condition' && typeof v[name] !== 'string') return undefined;
  return [name, v[name]];
}

/** Every problem found, each with the JSON path where it is; an empty list means the template passed. */
export function checkTemplate(template: Template, spec: Spec = awsSpec()): string[] {
  const problems: string[] = [];
  const resources = template.Resources ?? {};
  const parameters = template.Parameters ?? {};
  const conditions = template.Conditions ?? {};
  const report = (path: string, message: string): void => {
    problems.push(`${path}: ${message}`);
  };

  const checkRef = (path: string, name: unknown) => {
    if (typeof name !== 'string') return report(path, 'Ref takes a name');
    if (!(name in resources) && !(name in parameters) && !PSEUDO.has(name))
      report(path, `Ref to "${name}", which is no resource, parameter or pseudo parameter`);
  };
  const checkGetAtt = (path: string, logicalId: string, attribute: string) => {
    const target = resources[logicalId];
    if (!target) return report(path, `GetAtt of "${logicalId}", which is no resource`);
    const type = typeof target.Type === 'string' ? spec.resource(target.Type) : undefined;
    // An unknown type is reported where the resource is; custom resources' attributes are free.
    if (type && !(attribute in type.attributes))
      report(path, `${String(target.Type)} has no attribute "${attribute}" (it has: ${Object.keys(type.attributes).join(', ') || 'none'})`);
  };
  const checkSub = (path: string, arg: unknown) => {
    const [text, variables] = Array.isArray(arg) ? [arg[0], arg[1]] : [arg, undefined];
    if (typeof text !== 'string') return report(path, 'Fn::Sub takes a string');
    const local = isObject(variables) ? variables : {};
    for (const [name, value] of Object.entries(local)) walkIntrinsics(`${path}[1].${name}`, value);
    // ${!Literal} is an escape; ${Name} a Ref; ${Name.Attribute} a GetAtt.
    for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
      const name = match[1]!.trim();
      if (name in local) continue;
      const dot = name.indexOf('.');
      if (dot > 0) checkGetAtt(path, name.slice(0, dot), name.slice(dot + 1));
      else checkRef(path, name);
    }
  };
  /** Checks the references inside an intrinsic function (and inside any value that holds one). */
  const walkIntrinsics = (path: string, value: unknown): void => {
    const fn = intrinsicOf(value);
    if (fn) {
      const [name, arg] = fn;
      if (name === 'Ref') return checkRef(path, arg);
      if (name === 'Condition' || (name === 'Fn::If' && Array.isArray(arg))) {
        const conditionName = name === 'Condition' ? arg : (arg as unknown[])[0];
        if (typeof conditionName !== 'string' || !(conditionName in conditions))
          report(path, `condition "${String(conditionName)}" is not defined`);
        if (name === 'Condition') return;
      }
      if (name === 'Fn::GetAtt') {
        const [logicalId, attribute] = Array.isArray(arg)
          ? arg
          : typeof arg === 'string'
            ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)]
            : [];
        if (typeof logicalId !== 'string' || typeof attribute !== 'string') return report(path, 'Fn::GetAtt takes [resource, attribute]');
        return checkGetAtt(path, logicalId, attribute);
      }
      if (name === 'Fn::Sub') return checkSub(path, arg);
      return walkIntrinsics(`${path}.${name}`, arg);
    }
    if (Array.isArray(value)) value.forEach((v, i) => walkIntrinsics(`${path}[${i}]`, v));
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) walkIntrinsics(`${path}.${k}`, v);
  };

  /** Problems of `value` as a `type`, without reporting them (unions try each member). */
  const valueProblems = (path: string, value: unknown, type: SpecType): string[] => {
    const fn = intrinsicOf(value);
    if (fn) {
      const [name, arg] = fn;
      // Fn::If yields one of its branches: each must be a valid value (or AWS::NoValue).
      if (name === 'Fn::If' && Array.isArray(arg) && arg.length === 3) {
        return [1, 2].flatMap((i) => {
          const branch: unknown = arg[i];
          const noValue = isObject(branch) && branch.Ref === 'AWS::NoValue';
          return noValue ? [] : valueProblems(`${path}.Fn::If[${i}]`, branch, type);
        });
      }
      return []; // references are checked once, by walkIntrinsics
    }
    const wrong = (what: string) => [`${path}: expected ${what}, got ${JSON.stringify(value)?.slice(0, 80)}`];
    switch (type.type) {
      case 'string':
      case 'date-time':
        // CloudFormation turns scalars into strings; an object or a list is a mistake.
        if (typeof value === 'number' || typeof value === 'boolean') return [];
        if (typeof value !== 'string') return wrong('a string');
        if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(value)) {
          return [`${path}: "${value}" is not one of ${type.allowedValues.join(', ')}`];
        }
        return [];
      case 'integer':
      case 'number': {
        const numeric = typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
        if (!numeric) return wrong(`a${type.type === 'integer' ? 'n integer' : ' number'}`);
        if (type.type === 'integer' && !Number.isInteger(Number(value))) return wrong('an integer');
        return [];
      }
      case 'boolean':
        return typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : wrong('a boolean');
      case 'json':
        return value === undefined ? wrong('JSON') : [];
      case 'null':
        return value === null ? [] : wrong('null');
      case 'tag':
        return isObject(value) && 'Key' in value && 'Value' in value ? [] : wrong('a tag {Key, Value}');
      case 'array':
        return Array.isArray(value) ? value.flatMap((v, i) => valueProblems(`${path}[${i}]`, v, type.element)) : wrong('a list');
      case 'map':
        return isObject(value) ? Object.entries(value).flatMap(([k, v]) => valueProblems(`${path}.${k}`, v, type.element)) : wrong('a map');
      case 'ref':
        return shapeProblems(path, value, spec.typeDefinition(type.reference.$ref));
      case 'union': {
        const each = type.types.map((member) => valueProblems(path, value, member));
        return each.some((p) => p.length === 0) ? [] : (each.sort((a, b) => a.length - b.length)[0] ?? []);
      }
    }
  };
  /** Problems of an object against a resource's or nested type's properties. */
  const shapeProblems = (path: string, value: unknown, shape: SpecShape): string[] => {
    if (!isObject(value)) return [`${path}: expected an object (${shape.name}), got ${JSON.stringify(value)?.slice(0, 80)}`];
    const found: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      const property = shape.properties[key];
      if (!property) found.push(`${path}: ${shape.name} has no property "${key}"`);
      else found.push(...valueProblems(`${path}.${key}`, v, property.type));
    }
    for (const [key, property] of Object.entries(shape.properties)) {
      if (property.required && !(key in value)) found.push(`${path}: ${shape.name} requires "${key}"`);
    }
    return found;
  };

  for (const [logicalId, resource] of Object.entries(resources)) {
    const path = `Resources.${logicalId}`;
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) report(path, `unknown resource attribute "${key}"`);
    if (resource.Condition !== undefined && (typeof resource.Condition !== 'string' || !(resource.Condition in conditions))) {
      report(path, `condition "${String(resource.Condition)}" is not defined`);
    }
    for (const dependency of [resource.DependsOn ?? []].flat()) {
      if (typeof dependency !== 'string' || !(dependency in resources))
        report(`${path}.DependsOn`, `"${String(dependency)}" is no resource`);
    }
    walkIntrinsics(`${path}.Properties`, resource.Properties);
    if (typeof resource.Type !== 'string') {
      report(path, 'no Type');
      continue;
    }
    if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource') continue;
    const type = spec.resource(resource.Type);
    if (!type) {
      report(path, `unknown resource type ${resource.Type}`);
      continue;
    }
    problems.push(...shapeProblems(`${path}.Properties`, resource.Properties ?? {}, type));
  }
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Value === undefined) report(`Outputs.${name}`, 'no Value');
    walkIntrinsics(`Outputs.${name}.Value`, output.Value);
    if (output.Condition !== undefined && (typeof output.Condition !== 'string' || !(output.Condition in conditions))) {
      report(`Outputs.${name}`, `condition "${String(output.Condition)}" is not defined`);
    }
  }
  for (const [name, condition] of Object.entries(conditions)) walkIntrinsics(`Conditions.${name}`, condition);
  return problems;
}
