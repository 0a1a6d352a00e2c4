import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The fields of an access log line (handlers/access-log.ts) the tests read. */
export interface AccessLine {
  readonly type: 'access';
  readonly key?: string;
  readonly rangeAsked?: string;
  readonly rangeSent?: string;
  readonly client?: string;
  readonly window?: string;
  readonly status: number;
  readonly bytes: number;
  readonly completed: boolean;
}

/**
 * The access log lines a server printed for `key` after byte `from` of its log file, once `ready`
 * says they are all there (or after 5 s): the server writes each line when its answer is done, and
 * the test's global setup copies its output to the file as it arrives.
 */
export async function accessLines(
  logFile: string,
  from: number,
  key: string,
  ready: (lines: AccessLine[]) => boolean,
): Promise<AccessLine[]> {
  let lines = await readLines(logFile, from, key);
  for (let i = 0; i < 50 && !ready(lines); i += 1) {
    await sleep(100);
    lines = await readLines(logFile, from, key);
  }
  return lines;
}

async function readLines(logFile: string, from: number, key: string): Promise<AccessLine[]> {
  const file = await open(logFile, 'r');
  try {
    const { size } = await file.stat();
    const buffer = Buffer.alloc(Math.max(0, size - from));
    await file.read(buffer, 0, buffer.length, from);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"type":"access"'))
      .map((line) => JSON.parse(line) as AccessLine)
      .filter((line) => line.key === key);
  } finally {
    await file.close();
  }
}
