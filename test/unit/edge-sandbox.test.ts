import { beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildEdgeFunctions, MAX_FUNCTION_BYTES } from '../../edge/bundle.mjs';
import type { CfRequest, CfResponse } from '../../edge/event';
import { CloudFrontFunction, cloudFrontRequest, MAX_CODE_BYTES, syntaxProblems, viewerRequestEvent, viewerResponseEvent } from '../support/cloudfront-sandbox';
import { PROJECT_ROOT } from '../support/paths';

const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);
const handler = (body: string, imports = '') => `${imports}function handler(event){${body}}`;
const request = (uri = '/api/stream/a__1.mp4') => viewerRequestEvent(cloudFrontRequest({ method: 'GET', uri, rawQuery: '', headers: [['Host', 'd.example']] }));
/** Runs `body` as a viewer-request function and returns what it returned (a request, or a response it made). */
const evaluate = (body: string, imports = '') => new CloudFrontFunction<CfRequest | CfResponse>(handler(body, imports), 'viewer-request').run(request(), NOW);

describe('the cloudfront-js-2.0 sandbox', () => {
  it('accepts ES 5.1 and the later syntax the runtime lists, and nothing else', () => {
    expect(syntaxProblems(handler("const a = 1; let b = `x${a}`; var c = (d, ...e) => d ** 2; for (var k in event) {} return event.request;", "import crypto from 'crypto';import cf from 'cloudfront';"))).toEqual([]);
    const refused: Record<string, string> = {
      'const { a } = event;': 'destructuring',
      'const a = [...event];': 'SpreadElement',
      'const a = { ...event };': 'SpreadElement',
      'for (const a of []) {}': 'ForOfStatement',
      'class A {}': 'ClassDeclaration',
      'const a = event?.request;': 'optional chaining',
      'const a = event ?? 1;': '??',
      'const a = { event };': 'shorthand, method or computed property',
      'const a = { f() {} };': 'shorthand, method or computed property',
      'const a = { [event]: 1 };': 'shorthand, method or computed property',
      'function f(a = 1) {}': 'AssignmentPattern',
      'function* g() {}': 'async or generator function',
      'const a = /./u;': 'regular expression flags u',
      'const a = /./s;': 'regular expression flags s',
      'try {} catch {}': 'catch without a binding',
      'const a = 1n;': 'BigInt',
      'const a = String.raw`x`;': 'TaggedTemplateExpression',
    };
    for (const [code, problem] of Object.entries(refused)) expect(syntaxProblems(handler(code)), code).toContain(problem);
    expect(syntaxProblems("import fs from 'fs'; function handler(event) {}")).toContain('import of fs');
    expect(syntaxProblems("var a = 1; import cf from 'cloudfront'; function handler(event) {}")).toContain('an import after other code (it must come first)');
    expect(syntaxProblems('export function handler(event) {}')).toContain('no top-level function handler(event)');
    expect(syntaxProblems('async function handler(event) {}')).toContain('handler is not function handler(event)');
  });

  it('offers no Node.js, no timers, no dynamic code, and only the built-ins the runtime lists', () => {
    const kinds = evaluate("return { statusCode: 200, headers: { t: { value: [typeof require, typeof process, typeof setTimeout, typeof setImmediate, typeof fetch, typeof URLSearchParams, typeof URL, typeof Buffer, typeof Map, typeof Set, typeof WeakMap, typeof Reflect, typeof Proxy, typeof Intl, typeof Array.from, typeof Object.fromEntries, typeof ''.normalize, typeof [].flat, typeof TextDecoder, typeof TextEncoder, typeof ''.codePointAt, typeof ''.charCodeAt, typeof ''.replaceAll, typeof Object.entries, typeof Promise.allSettled, typeof atob].join(' ') } } };");
    expect((kinds.result as CfResponse).headers.t?.value).toBe(
      'undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined undefined function function function function function function function undefined',
    );
    expect(() => evaluate("eval('1');")).toThrow(/Code generation from strings disallowed/);
    expect(() => evaluate("new Function('return 1')();")).toThrow(/Code generation from strings disallowed/);
    expect(() => evaluate("console.log('a', 'b');")).toThrow('one argument');
    const logged = new CloudFrontFunction(handler("console.log('seen ' + 1); return event.request;"), 'viewer-request').run(request(), NOW);
    expect(logged.logs).toEqual(['seen 1']);
  });

  it('freezes the clock at the function start time', () => {
    const answer = evaluate('var a = Date.now(); var b = new Date().getTime(); return { statusCode: 200, headers: { t: { value: a + " " + b } } };');
    expect((answer.result as CfResponse).headers.t?.value).toBe(`${NOW} ${NOW}`);
  });

  it('has the crypto module: createHmac and createHash with hex, base64 and base64url digests', () => {
    const answer = evaluate(
      "return { statusCode: 200, headers: { h: { value: crypto.createHmac('sha256', 'k').update('ñ\\n1').digest('base64url') }, s: { value: crypto.createHash('sha1').update('x').digest('hex') } } };",
      "import crypto from 'crypto';",
    );
    const headers = (answer.result as CfResponse).headers;
    expect(headers.h?.value).toBe(createHmac('sha256', 'k').update('ñ\n1', 'utf8').digest('base64url'));
    expect(headers.s?.value).toBe('11f6ad8ec52a2984abaafd7c3b516503785c2072');
    expect(() => evaluate("crypto.createHmac('sha512', 'k');", "import crypto from 'crypto';")).toThrow('unsupported algorithm');
    expect(() => evaluate("crypto.createHash('md5').update('x').digest();", "import crypto from 'crypto';")).toThrow('digest() without');
  });

  it('has the cloudfront module: origins of the distribution only, in viewer-request functions only', () => {
    const fn = new CloudFrontFunction(handler("cf.selectRequestOriginById('fn'); return event.request;", "import cf from 'cloudfront';"), 'viewer-request');
    expect(fn.run(request(), NOW).originCalls).toEqual([{ method: 'selectRequestOriginById', argument: 'fn' }]);
    expect(() => evaluate("cf.selectRequestOriginById('elsewhere'); return event.request;", "import cf from 'cloudfront';")).toThrow('no origin elsewhere');
    expect(() => evaluate('cf.kvs();', "import cf from 'cloudfront';")).toThrow('no KeyValueStore');
    const response = new CloudFrontFunction(handler("cf.selectRequestOriginById('fn'); return event.response;", "import cf from 'cloudfront';"), 'viewer-response');
    expect(() => response.run(viewerResponseEvent(request().request, { statusCode: 200, headers: [] }), NOW)).toThrow('viewer-request functions only');
  });

  it('validates what a function returns as CloudFront does', () => {
    expect(() => evaluate("event.request.headers['X-Up'] = { value: '1' }; return event.request;")).toThrow('not lower case');
    expect(() => evaluate("event.request.headers['x-edge-location'] = { value: '1' }; return event.request;")).toThrow('disallowed header');
    expect(() => evaluate("event.request.headers.host = { value: 'other' }; return event.request;")).toThrow('read-only header host');
    expect(() => evaluate("event.request.uri = 'x'; return event.request;")).toThrow('does not start with /');
    expect(() => evaluate("event.request.querystring = 'a b'; return event.request;")).toThrow('spaces');
    expect(() => evaluate("return { statusCode: '200', headers: {} };")).toThrow('status');
    const rewrite = new CloudFrontFunction(handler('return { statusCode: 404, headers: {} };'), 'viewer-response');
    expect(() => rewrite.run(viewerResponseEvent(request().request, { statusCode: 200, headers: [] }), NOW)).toThrow('changes the status');
    expect(() => new CloudFrontFunction(handler(`var a = "${'x'.repeat(MAX_CODE_BYTES)}"; return event.request;`), 'viewer-request')).toThrow('bytes of code');
  });

  it('builds events as CloudFront does: lower-case names, repeats in multiValue, cookies apart, the query as received', () => {
    const built = cloudFrontRequest({ method: 'GET', uri: '/api/stream/x', rawQuery: 'a=1&&b=%41&a=2&flag&__proto__=x', headers: [['Range', 'bytes=0-1'], ['Accept', 'a'], ['accept', 'b'], ['Cookie', 'c1=v1; c2=v2']] });
    expect(JSON.parse(JSON.stringify(built))).toEqual({
      method: 'GET',
      uri: '/api/stream/x',
      querystring: { a: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] }, b: { value: '%41' }, flag: { value: '' }, ['__proto__']: { value: 'x' } },
      headers: { range: { value: 'bytes=0-1' }, accept: { value: 'a', multiValue: [{ value: 'a' }, { value: 'b' }] } },
      cookies: { c1: { value: 'v1' }, c2: { value: 'v2' } },
    });
  });
});

describe('edge/bundle.mjs', () => {
  // A long secret and several origins: what the code grows with.
  const settings = { signingSecret: 's'.repeat(64), corsOrigins: 'https://player.example.com, https://app.example.com, https://admin.example.com, http://localhost:5173', maxAge: '86400', errorMaxAge: '30' };
  let code: { viewerRequest: string; viewerResponse: string };
  beforeAll(async () => {
    code = await buildEdgeFunctions(settings);
  }, 60_000);

  it(`builds both functions under the ${MAX_FUNCTION_BYTES}-byte limit, in the runtime's syntax`, () => {
    for (const [name, text] of Object.entries(code)) {
      const bytes = Buffer.byteLength(text);
      console.info(`${name}: ${bytes} bytes`);
      expect(bytes).toBeLessThan(MAX_FUNCTION_BYTES);
      expect(syntaxProblems(text), name).toEqual([]);
      expect(text.startsWith(name === 'viewerRequest' ? 'import ' : 'var ')).toBe(true);
    }
    expect(code.viewerRequest).toContain('s'.repeat(64));
    expect(code.viewerResponse).toContain('max-age=');
  });

  it('refuses settings the function would refuse', async () => {
    await expect(buildEdgeFunctions({ signingSecret: 'short' })).rejects.toThrow('at least 32 characters');
    await expect(buildEdgeFunctions({ corsOrigins: 'player.example.com' })).rejects.toThrow('CORS_ORIGINS');
    await expect(buildEdgeFunctions({ maxAge: '-1' })).rejects.toThrow('maxAge');
    await expect(buildEdgeFunctions({ signingSecret: `\${env:HOME}${'x'.repeat(32)}` })).rejects.toThrow('osls would take for a variable');
  });

  it('is what osls 4.3.1 resolves ${file(./edge/bundle.cjs):viewerRequest} to, from the parameters', async () => {
    const require = createRequire(import.meta.url);
    const fileSource = require(join(PROJECT_ROOT, 'node_modules/serverless/lib/configuration/variables/sources/file.js')) as {
      resolve(input: Record<string, unknown>): Promise<{ value: unknown }>;
    };
    const params: Record<string, string> = { signingSecret: settings.signingSecret, corsOrigins: settings.corsOrigins, cdnMaxAge: settings.maxAge, cdnErrorMaxAge: settings.errorMaxAge };
    const asked: string[] = [];
    const resolveVariable = async (variable: string) => {
      asked.push(variable);
      const name = /^param:(\w+), ''$/.exec(variable)?.[1] ?? '';
      return params[name] ?? '';
    };
    const resolve = (file: string, address: string) => fileSource.resolve({ serviceDir: PROJECT_ROOT, params: [file], address, resolveVariable, resolveConfigurationProperty: async () => undefined, resolveVariablesInString: async (s: string) => s, options: {} });
    expect((await resolve('./edge/bundle.cjs', 'viewerRequest')).value).toBe(code.viewerRequest);
    expect((await resolve('./edge/bundle.cjs', 'viewerResponse')).value).toBe(code.viewerResponse);
    expect(asked).toContain("param:signingSecret, ''");
    // Why the .cjs: osls reads a .mjs as text, and the address then names nothing.
    expect((await resolve('./edge/bundle.mjs', 'viewerRequest')).value).toBeNull();
    expect(await readFile(join(PROJECT_ROOT, 'edge/bundle.cjs'), 'utf8')).toContain("import('./bundle.mjs')");
  });
});
