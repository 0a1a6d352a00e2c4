// The serverless-facing shell of offline-url-plugin.ts. osls require()s plugins, and require()
// cannot load an ES module with top-level await, so the TypeScript plugin is imported (through
// tsx's ESM API; tsx 4.23.15's CommonJS build of that API is broken) when a hook first runs.
import { tsImport } from 'tsx/esm/api';

export default class OfflineUrlPluginShell {
  constructor(serverless, options, utils) {
    let plugin;
    // Taken now: serverless-esbuild later moves the service path to its build folder.
    const projectDir = serverless.serviceDir;
    const load = async () => {
      plugin ??= tsImport('./offline-url-plugin.ts', import.meta.url).then(
        ({ OfflineUrlPlugin }) => new OfflineUrlPlugin(serverless, projectDir, utils),
      );
      return plugin;
    };
    const start = async () => (await load()).start();
    this.hooks = {
      // `serverless offline` runs one hook; `serverless offline start` runs init, ready and end.
      'before:offline:start': start,
      'before:offline:start:init': start,
      'before:offline:start:end': async () => (await load()).stop(),
      // After serverless-esbuild's own hook of the same name, which builds the bundle.
      'before:invoke:local:invoke': async () => (await load()).prepareInvokeLocal(options),
    };
  }
}
