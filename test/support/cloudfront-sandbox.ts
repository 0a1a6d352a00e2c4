import { createHash, createHmac } from 'node:crypto';
import vm from 'node:vm';
import { parse, type Node } from 'acorn';
import type { CfEvent, CfFields, CfRequest, CfResponse } from '../../edge/event';

/**
 * A stand-in for the CloudFront Functions runtime `cloudfront-js-2.0`, as AWS documents it:
 * "JavaScript runtime 2.0 features for CloudFront Functions" (ES 5.1, plus the ES 6-12 features
 * listed there and nothing else), "Restricted features" (no eval or Function constructor, no
 * timers, a clock frozen at the function's start, no fs, process, environment or network),
 * "CloudFront Functions event structure", "Restrictions on all edge functions" (disallowed and
 * read-only headers, query-string and URI rules), "Helper methods for origin modification", and
 * the 10 KB code quota. The code runs in a node:vm context holding only the ECMAScript built-ins
 * the runtime lists; what it offers beyond them is what the pages list and this project uses
 * (the crypto and cloudfront modules, TextDecoder/TextEncoder, console.log). It is stricter where
 * the pages are silent (no Buffer, no querystring module, no async), so code that passes here
 * relies on nothing undocumented; it is no security boundary (the host's functions are reachable).
 */

export const MAX_CODE_BYTES = 10 * 1024;

/** Headers a function may neither see nor add (fails validation: 502). */
const DISALLOWED = ['connection', 'expect', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'trailer', 'upgrade', 'x-accel-buffering', 'x-accel-charset', 'x-accel-limit-rate', 'x-accel-redirect', 'x-amzn-auth', 'x-amzn-cf-billing', 'x-amzn-cf-id', 'x-amzn-cf-xff', 'x-amzn-errortype', 'x-amzn-fle-profile', 'x-amzn-header-count', 'x-amzn-header-order', 'x-amzn-lambda-integration-tag', 'x-amzn-requestid', 'x-cache', 'x-forwarded-proto', 'x-real-ip'];
const DISALLOWED_PREFIXES = ['x-amz-cf-', 'x-edge-'];
const READ_ONLY = { 'viewer-request': ['content-length', 'host', 'transfer-encoding', 'via'], 'viewer-response': ['warning', 'via'] } as const;

// ---- what the code may be written in -----------------------------------------------------

/** ES 5.1 node types, and the later ones the runtime lists (let/const, arrows, templates, rest parameters, `**`). */
const ALLOWED_NODES = new Set([
  'Program', 'ImportDeclaration', 'ImportDefaultSpecifier', 'Identifier', 'Literal', 'ExpressionStatement', 'BlockStatement', 'EmptyStatement',
  'ReturnStatement', 'LabeledStatement', 'BreakStatement', 'ContinueStatement', 'IfStatement', 'SwitchStatement', 'SwitchCase', 'ThrowStatement',
  'TryStatement', 'CatchClause', 'WhileStatement', 'DoWhileStatement', 'ForStatement', 'ForInStatement', 'FunctionDeclaration', 'VariableDeclaration',
  'VariableDeclarator', 'ThisExpression', 'ArrayExpression', 'ObjectExpression', 'Property', 'FunctionExpression', 'ArrowFunctionExpression',
  'UnaryExpression', 'UpdateExpression', 'BinaryExpression', 'AssignmentExpression', 'LogicalExpression', 'MemberExpression', 'ConditionalExpression',
  'CallExpression', 'NewExpression', 'SequenceExpression', 'TemplateLiteral', 'TemplateElement', 'RestElement',
]);
const MODULES = ['crypto', 'cloudfront'];

interface AnyNode extends Node {
  readonly [key: string]: unknown;
}

function isNode(value: unknown): value is AnyNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function* nodes(node: AnyNode, parent?: AnyNode): Generator<{ node: AnyNode; parent: AnyNode | undefined }> {
  yield { node, parent };
  for (const value of Object.values(node)) {
    for (const child of Array.isArray(value) ? value : [value]) if (isNode(child)) yield* nodes(child, node);
  }
}

/** Why `code` is not what cloudfront-js-2.0 accepts, or an empty list. */
export function syntaxProblems(code: string): string[] {
  const problems: string[] = [];
  let program: AnyNode;
  try {
    program = parse(code, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as AnyNode;
  } catch (error) {
    return [`does not parse: ${String(error)}`];
  }
  const body = program.body as AnyNode[];
  let handlers = 0;
  body.forEach((statement, index) => {
    if (statement.type === 'ImportDeclaration') {
      const specifiers = statement.specifiers as AnyNode[];
      const source = (statement.source as AnyNode).value;
      if (body.slice(0, index).some((s) => s.type !== 'ImportDeclaration')) problems.push('an import after other code (it must come first)');
      if (!MODULES.includes(String(source)) || specifiers.length !== 1 || specifiers[0]?.type !== 'ImportDefaultSpecifier') problems.push(`import of ${String(source)}`);
    }
    if (statement.type === 'FunctionDeclaration' && (statement.id as AnyNode | null)?.name === 'handler') {
      handlers += 1;
      if (statement.async === true || (statement.params as AnyNode[]).length !== 1) problems.push('handler is not function handler(event)');
    }
  });
  if (handlers !== 1) problems.push('no top-level function handler(event)');
  for (const { node, parent } of nodes(program)) {
    if (!ALLOWED_NODES.has(node.type)) problems.push(node.type);
    if (node.type === 'ImportDeclaration' && parent !== program) problems.push('import below the top level');
    if ((node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') && (node.async === true || node.generator === true)) problems.push('async or generator function');
    if (node.type === 'Property' && (node.shorthand === true || node.method === true || node.computed === true)) problems.push('shorthand, method or computed property');
    if ((node.type === 'MemberExpression' || node.type === 'CallExpression') && node.optional === true) problems.push('optional chaining');
    if (node.type === 'LogicalExpression' && node.operator === '??') problems.push('??');
    if (node.type === 'AssignmentExpression' && ['&&=', '||=', '??='].includes(String(node.operator))) problems.push(String(node.operator));
    if (node.type === 'CatchClause' && node.param === null) problems.push('catch without a binding');
    if (node.type === 'RestElement' && !(parent !== undefined && /Function/.test(parent.type) && (parent.params as unknown[]).includes(node))) problems.push('rest element outside parameters');
    if (node.type === 'VariableDeclarator' && (node.id as AnyNode).type !== 'Identifier') problems.push('destructuring');
    if (node.type === 'Literal') {
      const regex = node.regex as { flags: string } | undefined;
      if (regex !== undefined && /[^gimy]/.test(regex.flags)) problems.push(`regular expression flags ${regex.flags}`);
      if (typeof node.bigint === 'string') problems.push('BigInt');
    }
  }
  return [...new Set(problems)];
}

// ---- the runtime ---------------------------------------------------------------------------

/** ES 2015+ built-ins the runtime does not list, removed from the context (ES 5.1 stays, being the documented baseline). */
const SETUP = `
(() => {
  const drop = (target, names) => { for (const name of names) delete target[name]; };
  drop(globalThis, ['Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Proxy', 'Reflect', 'BigInt', 'BigInt64Array',
    'BigUint64Array', 'SharedArrayBuffer', 'Atomics', 'Intl', 'WebAssembly', 'AggregateError', 'Iterator', 'escape', 'unescape', 'console']);
  drop(Object, ['fromEntries', 'getOwnPropertySymbols', 'hasOwn', 'groupBy']);
  drop(Array, ['from', 'fromAsync']);
  drop(Array.prototype, ['at', 'entries', 'keys', 'values', 'findLast', 'findLastIndex', 'flat', 'flatMap', 'toReversed', 'toSorted', 'toSpliced', 'with']);
  drop(String, ['raw']);
  drop(String.prototype, ['at', 'normalize', 'matchAll', 'isWellFormed', 'toWellFormed', 'trimLeft', 'trimRight', 'anchor', 'big', 'blink', 'bold',
    'fixed', 'fontcolor', 'fontsize', 'italics', 'link', 'small', 'strike', 'sub', 'sup']);
  drop(Promise, ['withResolvers', 'try']);
  drop(Object.getPrototypeOf(Uint8Array.prototype), ['at', 'entries', 'keys', 'values', 'findLast', 'findLastIndex', 'toReversed', 'toSorted', 'with']);
  drop(ArrayBuffer.prototype, ['transfer', 'transferToFixedLength', 'resize']);
  const logs = [];
  globalThis.console = { log(message) { if (arguments.length !== 1) throw new TypeError('console.log takes one argument here'); logs.push(String(message)); } };
  const bridge = globalThis.__bridge;
  delete globalThis.__bridge;
  function TextDecoder(encoding, options) {
    if (!(this instanceof TextDecoder)) throw new TypeError('TextDecoder needs new');
    this.encoding = encoding === undefined ? 'utf-8' : String(encoding).toLowerCase();
    this.fatal = options !== undefined && options.fatal === true;
    this.ignoreBOM = options !== undefined && options.ignoreBOM === true;
  }
  TextDecoder.prototype.decode = function (input) { return bridge.decode(input, this.encoding, this.fatal, this.ignoreBOM); };
  function TextEncoder() { if (!(this instanceof TextEncoder)) throw new TypeError('TextEncoder needs new'); }
  TextEncoder.prototype.encode = function (text) { return new Uint8Array(bridge.encode(String(text))); };
  globalThis.TextDecoder = TextDecoder;
  globalThis.TextEncoder = TextEncoder;
  const RealDate = Date;
  return {
    logs,
    /** Every Date answers the function's start time, as the runtime's does. */
    freeze(now) {
      function FrozenDate(...args) {
        if (!new.target) return new RealDate(now).toString();
        return args.length === 0 ? new RealDate(now) : new RealDate(...args);
      }
      FrozenDate.now = () => now;
      FrozenDate.UTC = RealDate.UTC;
      FrozenDate.parse = RealDate.parse;
      FrozenDate.prototype = RealDate.prototype;
      globalThis.Date = FrozenDate;
    },
  };
})()`;

/** A call the function made to the cloudfront module. */
export type OriginCall = { readonly method: 'selectRequestOriginById' | 'updateRequestOrigin' | 'createRequestOriginGroup'; readonly argument: unknown };

export interface Run<T> {
  readonly result: T;
  readonly originCalls: readonly OriginCall[];
  readonly logs: readonly string[];
}

export interface SandboxOptions {
  /** The distribution's origin IDs (selectRequestOriginById accepts only these). */
  readonly originIds: readonly string[];
}

const ENCODINGS = ['hex', 'base64', 'base64url'] as const;
type Encoding = (typeof ENCODINGS)[number];

/** The runtime's crypto module: md5, sha1, sha256; digest with an encoding (without, the runtime gives a Buffer, which this sandbox does not offer). */
function cryptoModule() {
  const digestOf = (compute: { update(data: string, encoding: 'utf8'): unknown; digest(encoding: Encoding): string }) => {
    const object = {
      update(data: unknown) {
        if (typeof data !== 'string') throw new TypeError('update() takes a string here');
        // What encoding the runtime gives a string is not documented: UTF-8 is assumed (README).
        compute.update(data, 'utf8');
        return object;
      },
      digest(encoding: unknown) {
        if (!ENCODINGS.includes(encoding as Encoding)) throw new TypeError(`digest() without hex, base64 or base64url: ${String(encoding)}`);
        return compute.digest(encoding as Encoding);
      },
    };
    return object;
  };
  const algorithm = (name: unknown) => {
    if (name !== 'md5' && name !== 'sha1' && name !== 'sha256') throw new TypeError(`unsupported algorithm ${String(name)}`);
    return name;
  };
  return {
    createHash: (name: unknown) => digestOf(createHash(algorithm(name))),
    createHmac: (name: unknown, key: unknown) => {
      if (typeof key !== 'string') throw new TypeError('createHmac() takes a string key here');
      return digestOf(createHmac(algorithm(name), key));
    },
  };
}

export class CloudFrontFunction<T extends CfRequest | CfResponse> {
  private readonly context: vm.Context;
  private readonly runtime: { logs: string[]; freeze(now: number): void };
  private readonly handler: (event: unknown) => unknown;
  private calls: OriginCall[] = [];

  constructor(
    readonly code: string,
    readonly eventType: 'viewer-request' | 'viewer-response',
    private readonly options: SandboxOptions = { originIds: ['s3', 'fn'] },
  ) {
    const bytes = Buffer.byteLength(code);
    if (bytes >= MAX_CODE_BYTES) throw new Error(`${bytes} bytes of code: the runtime takes less than ${MAX_CODE_BYTES}`);
    const problems = syntaxProblems(code);
    if (problems.length > 0) throw new Error(`not cloudfront-js-2.0: ${problems.join('; ')}`);
    this.context = vm.createContext(
      { __bridge: { decode: (input: Uint8Array, encoding: string, fatal: boolean, ignoreBOM: boolean) => new TextDecoder(encoding, { fatal, ignoreBOM }).decode(input), encode: (text: string) => [...new TextEncoder().encode(text)] } },
      { codeGeneration: { strings: false, wasm: false } },
    );
    this.runtime = vm.runInContext(SETUP, this.context) as { logs: string[]; freeze(now: number): void };
    const program = parse(code, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as AnyNode;
    const imports = (program.body as AnyNode[]).filter((statement) => statement.type === 'ImportDeclaration');
    const bindings = imports.map((statement) => ({ local: String(((statement.specifiers as AnyNode[])[0]?.local as AnyNode).name), module: String((statement.source as AnyNode).value) }));
    const rest = code.slice(imports.length === 0 ? 0 : (imports[imports.length - 1] as AnyNode).end);
    // Modules are strict, and the runtime says its functions always are.
    const factory = vm.runInContext(`(function (${bindings.map((b) => b.local).join(', ')}) { 'use strict';\n${rest}\n;return handler; })`, this.context) as (...modules: unknown[]) => (event: unknown) => unknown;
    this.handler = factory(...bindings.map((b) => (b.module === 'crypto' ? cryptoModule() : this.cloudfrontModule())));
  }

  private cloudfrontModule() {
    const record = (method: OriginCall['method']) => (argument: unknown) => {
      if (this.eventType !== 'viewer-request') throw new Error(`${method}: origins can be changed in viewer-request functions only`);
      if (method === 'selectRequestOriginById' && !this.options.originIds.includes(String(argument))) throw new Error(`selectRequestOriginById: no origin ${String(argument)} in the distribution`);
      this.calls.push({ method, argument });
    };
    return {
      selectRequestOriginById: record('selectRequestOriginById'),
      updateRequestOrigin: record('updateRequestOrigin'),
      createRequestOriginGroup: record('createRequestOriginGroup'),
      kvs: () => {
        throw new Error('no KeyValueStore is associated with this function');
      },
    };
  }

  /** Runs the handler on `event` at `nowMs` (the function's start time), and checks what it returns as CloudFront would. */
  run(event: CfEvent, nowMs: number): Run<T> {
    if (event.context.eventType !== this.eventType) throw new Error(`a ${event.context.eventType} event for a ${this.eventType} function`);
    this.calls = [];
    this.runtime.logs.length = 0;
    this.runtime.freeze(nowMs);
    // The event is made in the function's own realm, as JSON is, so it carries none of the host's built-ins.
    this.context.__event = JSON.stringify(event);
    const returned: unknown = this.handler(vm.runInContext('JSON.parse(__event)', this.context));
    this.context.__returned = returned;
    const result = JSON.parse(vm.runInContext('JSON.stringify(__returned)', this.context) as string) as T;
    if (this.eventType === 'viewer-request') validateViewerRequestResult(event.request, result);
    else validateViewerResponseResult(event, result as CfResponse);
    return { result, originCalls: [...this.calls], logs: [...this.runtime.logs] };
  }
}

// ---- what CloudFront accepts back ----------------------------------------------------------

function validateFields(fields: unknown, what: string): asserts fields is CfFields {
  if (typeof fields !== 'object' || fields === null) throw new Error(`${what} is not an object`);
  for (const [name, field] of Object.entries(fields)) {
    if (name !== name.toLowerCase()) throw new Error(`${what}: ${name} is not lower case`);
    const value = (field as { value?: unknown }).value;
    if (typeof value !== 'string') throw new Error(`${what}: ${name} has no string value`);
  }
}

function validateHeaders(before: CfFields, after: unknown, readOnly: readonly string[]): void {
  validateFields(after, 'headers');
  for (const name of Object.keys(after)) {
    if (DISALLOWED.includes(name) || DISALLOWED_PREFIXES.some((p) => name.startsWith(p))) throw new Error(`adds the disallowed header ${name}`);
  }
  for (const name of readOnly) {
    if (JSON.stringify(before[name]) !== JSON.stringify(after[name])) throw new Error(`changes the read-only header ${name}`);
  }
}

export function isResponse(result: CfRequest | CfResponse): result is CfResponse {
  return (result as { statusCode?: unknown }).statusCode !== undefined;
}

function validateResponse(response: CfResponse): void {
  if (!Number.isInteger(response.statusCode) || response.statusCode < 100 || response.statusCode > 599) throw new Error(`status ${String(response.statusCode)}`);
  if (response.statusDescription !== undefined && typeof response.statusDescription !== 'string') throw new Error('statusDescription is not a string');
  const { body } = response;
  if (body !== undefined && typeof body !== 'string' && !(typeof body === 'object' && ['text', 'base64'].includes(body.encoding) && typeof body.data === 'string')) throw new Error('body is neither a string nor { encoding, data }');
}

function validateViewerRequestResult(original: CfRequest, result: CfRequest | CfResponse): void {
  if (isResponse(result)) {
    validateResponse(result);
    validateHeaders({}, result.headers, []);
    return;
  }
  if (result.method !== original.method) throw new Error('changes the method (read-only)');
  if (!result.uri.startsWith('/')) throw new Error('a URI that does not start with /');
  const query = typeof result.querystring === 'string' ? result.querystring : Object.entries(result.querystring).map(([k, v]) => `${k}=${v.value}`).join('&');
  if (typeof result.querystring === 'string' && /[\s\u0000-\u001f\u007f#]/.test(result.querystring)) throw new Error('a query string with spaces, controls or #');
  if (typeof result.querystring !== 'string') validateFields(result.querystring, 'querystring');
  if (result.uri.length + 1 + query.length >= 8192) throw new Error('a URI of 8 192 characters or more');
  validateHeaders(original.headers, result.headers, READ_ONLY['viewer-request']);
  validateFields(result.cookies, 'cookies');
}

function validateViewerResponseResult(event: CfEvent, result: CfResponse): void {
  validateResponse(result);
  if (result.statusCode !== event.response?.statusCode) throw new Error('changes the status of a viewer response');
  validateHeaders(event.response.headers, result.headers, READ_ONLY['viewer-response']);
}

// ---- events as CloudFront makes them -------------------------------------------------------

function fieldsOf(pairs: ReadonlyArray<readonly [string, string]>): CfFields {
  // As JSON.parse builds them: `__proto__` and friends are plain own keys.
  const fields = Object.create(null) as CfFields;
  for (const [name, value] of pairs) {
    const field = fields[name];
    if (field === undefined) fields[name] = { value };
    else field.multiValue = [...(field.multiValue ?? [{ value: field.value }]), { value }];
  }
  return fields;
}

export interface ViewerRequestInput {
  readonly method: string;
  /** The path as received, percent-encoded. */
  readonly uri: string;
  /** The query string as received, without `?`. */
  readonly rawQuery: string;
  /** Header fields in the order received; names in any case. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * The request object CloudFront builds: header names in lower case, Cookie apart, repeats in
 * multiValue (first value also in value); the query string parsed into names and values as
 * received (not decoded: AWS's own examples rebuild `name=value` from them), empty pieces dropped.
 */
export function cloudFrontRequest(input: ViewerRequestInput): CfRequest {
  const headers = input.headers.map(([name, value]) => [name.toLowerCase(), value] as const);
  const cookies = headers
    .filter(([name]) => name === 'cookie')
    .flatMap(([, value]) => value.split(';'))
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => [pair.split('=')[0] ?? '', pair.slice(pair.indexOf('=') + 1)] as const);
  const query = input.rawQuery
    .split('&')
    .filter((piece) => piece !== '')
    .map((piece) => (piece.includes('=') ? ([piece.slice(0, piece.indexOf('=')), piece.slice(piece.indexOf('=') + 1)] as const) : ([piece, ''] as const)));
  return { method: input.method, uri: input.uri, querystring: fieldsOf(query), headers: fieldsOf(headers.filter(([name]) => name !== 'cookie')), cookies: fieldsOf(cookies) };
}

const CONTEXT = { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', requestId: 'sandbox' };

export function viewerRequestEvent(request: CfRequest, ip = '198.51.100.11'): CfEvent {
  return { version: '1.0', context: { ...CONTEXT, eventType: 'viewer-request' }, viewer: { ip }, request };
}

export function viewerResponseEvent(request: CfRequest, response: { statusCode: number; headers: ReadonlyArray<readonly [string, string]> }, ip = '198.51.100.11'): CfEvent {
  return {
    version: '1.0',
    context: { ...CONTEXT, eventType: 'viewer-response' },
    viewer: { ip },
    request,
    response: { statusCode: response.statusCode, statusDescription: '', headers: fieldsOf(response.headers.map(([n, v]) => [n.toLowerCase(), v] as const)), cookies: {} },
  };
}
