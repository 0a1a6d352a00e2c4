import { accessSync, constants } from 'node:fs';

/** A system tool the real-client tests drive; missing ones fail loudly with the install line. */
export function requireTool(path: string, debianPackage: string): string {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(`${path} is missing: install it with \`apt-get install -y ${debianPackage}\` (.ci/run does)`);
  }
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
