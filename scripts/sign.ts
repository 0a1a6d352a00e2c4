// npm run sign -- <filename> [--ttl 3600] [--base-url http://localhost:8001] [--download]
// Prints a link to <filename> that stays valid for --ttl seconds, signed with SIGNING_SECRET.
import { parseArgs } from 'node:util';
import { signedPath } from '../core/signing';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ttl: { type: 'string', default: '3600' },
    'base-url': { type: 'string', default: process.env.BASE_URL ?? 'http://localhost:8001' },
    download: { type: 'boolean', default: false },
  },
});
const [filename] = positionals;
const secret = process.env.SIGNING_SECRET;
const ttl = Number(values.ttl);
if (filename === undefined || positionals.length !== 1 || !Number.isSafeInteger(ttl) || ttl <= 0) {
  console.error('usage: npm run sign -- <filename> [--ttl seconds] [--base-url URL] [--download]');
  process.exit(2);
}
if (secret === undefined || secret.length < 32) {
  console.error('SIGNING_SECRET must be set (at least 32 characters), the same as the function\u2019s');
  process.exit(2);
}
const path = signedPath(filename, secret, ttl);
console.log(`${values['base-url'].replace(/\/$/, '')}${path}${values.download ? '&download=1' : ''}`);
