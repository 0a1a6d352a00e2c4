// The two CloudFront Functions (cloudfront-js-2.0) of CDN mode, as code strings built from
// edge/viewer-request.ts and edge/viewer-response.ts with their settings baked in. Plain ESM
// JavaScript: osls loads it at package time (through edge/bundle.cjs, see there), tests import it.
//
// Why the pipeline: esbuild bundles the TypeScript and the core modules it imports and shakes
// out the rest; the runtime documents ES 5.1 plus a few later features only (no destructuring,
// spread, default parameters, for-of, classes, shorthand properties...), which esbuild cannot
// lower to, so TypeScript lowers the bundle to ES5 and esbuild minifies that again.
import { build, transform } from 'esbuild';
import ts from 'typescript';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const EDGE_DIR = dirname(fileURLToPath(import.meta.url));
/** cloudfront-js-2.0's limit on a function's code (AWS, "Quotas on CloudFront Functions"). */
export const MAX_FUNCTION_BYTES = 10 * 1024;

let buildTime;
/** edge/build-config.ts, compiled once: the settings' validation and the tables, from the function's own sources. */
async function buildTimeModule() {
  buildTime ??= (async () => {
    const out = await build({ entryPoints: [join(EDGE_DIR, 'build-config.ts')], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent' });
    const dir = mkdtempSync(join(tmpdir(), 'edge-build-'));
    try {
      const file = join(dir, 'build-config.cjs');
      writeFileSync(file, out.outputFiles[0].text);
      return createRequire(import.meta.url)(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return buildTime;
}

const ENTRIES = {
  viewerRequest: (config, tables) => `
    import crypto from 'crypto';
    import cf from 'cloudfront';
    import { viewerRequest } from './viewer-request';
    const CONFIG = ${JSON.stringify(config)};
    const TABLES = ${JSON.stringify({ foldRanges: tables.foldRanges })};
    export function handler(event) {
      return viewerRequest(event, CONFIG, TABLES, {
        hmac: (secret, message) => crypto.createHmac('sha256', secret).update(message).digest('base64url'),
        selectOrigin: (id) => cf.selectRequestOriginById(id),
        nowSeconds: Math.floor(Date.now() / 1000),
      });
    }`,
  viewerResponse: (config, tables) => `
    import { viewerResponse } from './viewer-response';
    const CONFIG = ${JSON.stringify(config)};
    const TABLES = ${JSON.stringify(tables)};
    export function handler(event) {
      return viewerResponse(event, CONFIG, TABLES);
    }`,
};

/**
 * The functional core's modules only build constants at their top level (regular expressions,
 * tables); esbuild keeps such code whenever a module is imported, used or not, and the edge has
 * 10 KB. Marking them free of side effects lets it drop what the functions never call.
 */
const CORE_DIR = join(EDGE_DIR, '..', 'core');
const pureModules = {
  name: 'pure-modules',
  setup(on) {
    on.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'pure') return undefined;
      const resolved = await on.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'pure' });
      return resolved.path.startsWith(CORE_DIR) ? { ...resolved, sideEffects: false } : resolved;
    });
  },
};

async function functionCode(entry) {
  const bundled = await build({
    stdin: { contents: entry, resolveDir: EDGE_DIR, loader: 'ts', sourcefile: 'edge-entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2020',
    // Lowered here where esbuild's output is shorter than TypeScript's (a ?? b, a?.b, templates).
    supported: { 'nullish-coalescing': false, 'optional-chain': false, 'template-literal': false },
    external: ['crypto', 'cloudfront'],
    plugins: [pureModules],
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const lowered = ts.transpileModule(bundled.outputFiles[0].text, {
    compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.ES2015, removeComments: true },
  }).outputText;
  const { code } = await transform(lowered, { format: 'esm', target: 'es5', minify: true, legalComments: 'none' });
  // The runtime calls a top-level `function handler(event)`; a module export is not that. And the
  // imports of its modules come first ("include the following statement in the first line").
  const exported = /export\s*\{\s*([A-Za-z_$][\w$]*)\s+as\s+handler\s*\};?\s*$/.exec(code);
  if (exported === null) throw new Error('edge bundle: no `handler` export to turn into the top-level function');
  const imports = [];
  const body = code.slice(0, exported.index).replace(/import\s*([A-Za-z_$][\w$]*)\s*from\s*"(crypto|cloudfront)";/g, (statement) => {
    imports.push(statement);
    return '';
  });
  return `${imports.join('')}${body}function handler(event){return ${exported[1]}(event)}\n`;
}

/** Both functions' code for `settings` (see edge/build-config.ts), each checked against the size limit. */
export async function buildEdgeFunctions(settings) {
  const { edgeConfigFrom, buildTables } = await buildTimeModule();
  const config = edgeConfigFrom(settings);
  const tables = buildTables();
  const result = {};
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const code = await functionCode(entry(config, tables));
    const bytes = Buffer.byteLength(code);
    // osls parses a resolved string again for variables (resolveInternalResult): `${` in the code would be read as one.
    if (code.includes('${')) throw new Error(`edge bundle: ${name} contains "\${", which osls would take for a variable (a setting holds it?)`);
    if (bytes >= MAX_FUNCTION_BYTES) throw new Error(`edge bundle: ${name} is ${bytes} bytes, over the ${MAX_FUNCTION_BYTES} bytes CloudFront Functions allow`);
    result[name] = code;
  }
  return result;
}

/** The settings from osls's variables: the same parameters the function's environment is made of. */
async function settingsFrom({ resolveVariable }) {
  const param = (name) => resolveVariable(`param:${name}, ''`);
  return {
    signingSecret: await param('signingSecret'),
    corsOrigins: await param('corsOrigins'),
    maxAge: await param('cdnMaxAge'),
    errorMaxAge: await param('cdnErrorMaxAge'),
  };
}

let fromVariables;
function builtFromVariables(context) {
  fromVariables ??= settingsFrom(context).then(buildEdgeFunctions);
  return fromVariables;
}

/** `${file(./edge/bundle.cjs):viewerRequest}`: osls calls it with `{ options, resolveVariable, ... }`. */
export async function viewerRequest(context) {
  return (await builtFromVariables(context)).viewerRequest;
}

/** `${file(./edge/bundle.cjs):viewerResponse}`. */
export async function viewerResponse(context) {
  return (await builtFromVariables(context)).viewerResponse;
}
