// Debian packages that a step needs: installed with apt-get when we run as root on Debian, else
// named with the command that installs them. Shared by ensure-installed.mjs and ensure-ric.mjs.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** tools maps a file that must exist to the Debian package that provides it. */
export function ensureDebianPackages(tools, purpose) {
  const missing = [
    ...new Set(
      Object.entries(tools)
        .filter(([path]) => !present(path))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  const canInstall = process.getuid?.() === 0 && present('/usr/bin/apt-get');
  if (!canInstall) {
    console.error(`${purpose} need Debian packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.log(`Installing Debian packages: ${missing.join(' ')}...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}

function present(path) {
  try {
    // Tools are files to run; headers and libraries, files to read.
    accessSync(path, /^\/usr\/(include|lib)\//.test(path) && !path.startsWith('/usr/lib/firefox-esr/') ? constants.R_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
