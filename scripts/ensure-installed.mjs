#!/usr/bin/env node
// Runs before `npm start` and `npm test` so that each is one command on a fresh clone:
// installs the npm packages from the lock file if they are missing or older than it, and with
// --test-tools also the Debian packages the tests drive (Chromium, Firefox, WebKitGTK under Xvfb,
// ffmpeg, curl, wget, OpenStack Swift).
// With LAMBDA_RUNTIME=ric, also local/ric (Node.js 22 and AWS's runtime client: ensure-ric.mjs).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './lib/debian.mjs';

const run = (command, args) => execFileSync(command, args, { stdio: 'inherit' });

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('Installing npm packages (npm ci)...');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

if (process.env.LAMBDA_RUNTIME === 'ric') run(process.execPath, [join(import.meta.dirname, 'ensure-ric.mjs')]);

if (process.argv.includes('--test-tools')) {
  ensureDebianPackages(
    {
      '/usr/bin/chromium': 'chromium',
      '/usr/lib/firefox-esr/firefox-esr': 'firefox-esr',
      '/usr/bin/WebKitWebDriver': 'webkit2gtk-driver',
      '/usr/bin/Xvfb': 'xvfb',
      '/usr/bin/ffmpeg': 'ffmpeg',
      '/usr/bin/ffprobe': 'ffmpeg',
      '/usr/bin/curl': 'curl',
      '/usr/bin/wget': 'wget',
      '/usr/bin/unzip': 'unzip',
      '/usr/bin/swift-proxy-server': 'swift-proxy',
      '/usr/bin/swift-account-server': 'swift-account',
      '/usr/bin/swift-container-server': 'swift-container',
      '/usr/bin/swift-object-server': 'swift-object',
      '/usr/bin/swift-ring-builder': 'swift',
      // Decoders the browsers load, libraries rather than tools: Firefox's H.264 (a Recommends of
      // firefox-esr, which ffmpeg depends on too) and WebKit's H.264 and AAC (GStreamer's base and
      // good plugins come with WebKitGTK).
      '/usr/lib/x86_64-linux-gnu/libavcodec.so.59': 'libavcodec59',
      '/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstlibav.so': 'gstreamer1.0-libav',
    },
    'The tests',
  );
}
