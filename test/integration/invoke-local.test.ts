import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, SAMPLE_PATH } from '../support/paths';

const run = promisify(execFile);
const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
const WORK_FOLDER = `.esbuild-invoke-${process.pid}`;

afterAll(() => rm(join(PROJECT_ROOT, WORK_FOLDER), { recursive: true, force: true }));

async function invokeLocal(eventFile: string) {
  const { stdout } = await run(process.execPath, [SERVERLESS, 'invoke', 'local', '-f', 'stream', '-p', join('events', eventFile)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DOWNLOADS_DIR: './downloads', ESBUILD_WORK_FOLDER: WORK_FOLDER },
    maxBuffer: 16 * 1024 * 1024,
  });
  // The function's access log line comes first (what CloudWatch would get), then the result.
  const logLine = stdout.split('\n').find((line) => line.startsWith('{"timestamp"')) ?? '';
  const afterLog = stdout.slice(stdout.indexOf(logLine) + logLine.length);
  const result = JSON.parse(afterLog.slice(afterLog.indexOf('{'))) as { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean };
  expect((JSON.parse(logLine) as { status: number }).status).toBe(result.statusCode);
  return result;
}

describe('serverless invoke local with the sample events', () => {
  it('answers events/range.json with the first KiB of the sample video', async () => {
    const result = await invokeLocal('range.json');
    const sample = await readFile(SAMPLE_PATH);
    expect(result.statusCode).toBe(206);
    expect(result.headers['content-range']).toBe(`bytes 0-1023/${sample.length}`);
    expect(result.isBase64Encoded).toBe(true);
    expect(Buffer.from(result.body, 'base64').equals(sample.subarray(0, 1024))).toBe(true);
  });

  it('answers events/missing-file.json with the 404 of the reference page', async () => {
    const result = await invokeLocal('missing-file.json');
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body)).toEqual({ detail: 'Archivo no encontrado' });
  });
});
