#!/usr/bin/env node
// Runs before `npm start` and `npm test` so that each is one command on a fresh clone:
// installs the npm packages from the lock file if they are missing or older than it, and with
// --test-tools also the Debian packages the tests drive (Chromium, Firefox, WebKitGTK under Xvfb,
// ffmpeg, curl, OpenStack Swift).
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';

const run = (command, args) => execFileSync(command, args, { stdio: 'inherit' });

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('Installing npm packages (npm ci)...');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

if (process.argv.includes('--test-tools')) {
  const tools = {
    '/usr/bin/chromium': 'chromium',
    '/usr/lib/firefox-esr/firefox-esr': 'firefox-esr',
    '/usr/bin/WebKitWebDriver': 'webkit2gtk-driver',
    '/usr/bin/Xvfb': 'xvfb',
    '/usr/bin/ffmpeg': 'ffmpeg',
    '/usr/bin/ffprobe': 'ffmpeg',
    '/usr/bin/curl': 'curl',
    '/usr/bin/unzip': 'unzip',
    '/usr/bin/swift-proxy-server': 'swift-proxy',
    '/usr/bin/swift-account-server': 'swift-account',
    '/usr/bin/swift-container-server': 'swift-container',
    '/usr/bin/swift-object-server': 'swift-object',
    '/usr/bin/swift-ring-builder': 'swift',
  };
  // Decoders the browsers load, which are not executables: Firefox's H.264 (a Recommends of
  // firefox-esr, which ffmpeg depends on too) and WebKit's H.264 and AAC (GStreamer's base and
  // good plugins come with WebKitGTK).
  const libraries = {
    '/usr/lib/x86_64-linux-gnu/libavcodec.so.59': 'libavcodec59',
    '/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstlibav.so': 'gstreamer1.0-libav',
  };
  const missing = [
    ...new Set([
      ...Object.entries(tools).filter(([path]) => !executable(path)).map(([, pkg]) => pkg),
      ...Object.entries(libraries).filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg),
    ]),
  ];
  if (missing.length > 0) {
    const canInstall = process.getuid?.() === 0 && executable('/usr/bin/apt-get');
    if (!canInstall) {
      console.error(`The tests need Debian packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
      process.exit(1);
    }
    console.log(`Installing Debian packages: ${missing.join(' ')}...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  }
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
