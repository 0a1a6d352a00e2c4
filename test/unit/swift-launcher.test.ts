import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SWIFT_LAUNCHER, SWIFT_PYTHON } from '../../support/swift';
import { requireTool } from '../support/tools';

/**
 * support/swift-launcher.py is Python that no TypeScript check reads: a syntax error in it would
 * show only as "swift exited during start" in the tests that start Swift. Compiled here by the
 * python that runs it, and its header held to the Swift this machine has.
 */
describe('the Swift launcher (support/swift-launcher.py)', () => {
  it('compiles under the python that runs it (python3 -m py_compile)', () => {
    requireTool(SWIFT_PYTHON, 'python3');
    // Bytecode goes to a temp dir, not to a __pycache__ in support/.
    const cache = mkdtempSync(join(tmpdir(), 'swift-launcher-pycache-'));
    try {
      const run = spawnSync(SWIFT_PYTHON, ['-m', 'py_compile', SWIFT_LAUNCHER], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPYCACHEPREFIX: cache },
      });
      expect(run.error).toBeUndefined();
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('names the Swift version it is written against, and it is the installed one', () => {
    const written = /^# Written against OpenStack Swift (\d+\.\d+)\.\d+/m.exec(readFileSync(SWIFT_LAUNCHER, 'utf8'));
    expect(written, 'the header names a Swift version').not.toBeNull();
    requireTool('/usr/bin/dpkg-query', 'dpkg');
    // e.g. 2.30.1-0+deb12u3: the upstream release is what the launcher's calls into Swift depend on.
    const installed = execFileSync('/usr/bin/dpkg-query', ['-W', '-f=${Version}', 'python3-swift'], { encoding: 'utf8' });
    expect(installed.replace(/^\d+:/, ''), `python3-swift ${installed}: check the launcher against it, then its header`).toMatch(
      new RegExp(`^${written![1]!.replace('.', '\\.')}\\.`),
    );
  });
});
