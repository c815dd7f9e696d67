import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommandCheck } from '../../../../src/probe/custom/command-check.js';

const never = new AbortController().signal;

describe('probe/custom/command-check', () => {
  it('passes on exit status 0 and quotes what the command printed', async () => {
    const outcome = await runCommandCheck({ argv: ['sh', '-c', 'echo all good'], env: {} }, never);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^sh exited 0 in \d+ ms: all good$/);
  });

  it('fails on a non-zero exit with the last lines of stdout and stderr, and passes its env', async () => {
    const outcome = await runCommandCheck({ argv: ['sh', '-c', 'echo checking $TARGET; echo "disk full" >&2; exit 3'], env: { TARGET: '/data' } }, never);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'exit');
    assert.match(outcome.message, /^sh exited 3 after \d+ ms: checking \/data \| disk full$/);
  });

  it('fails a program that does not exist, and one in a missing working directory', async () => {
    const missing = await runCommandCheck({ argv: ['/no/such/program'], env: {} }, never);
    assert.equal(missing.ok, false);
    assert.match(missing.message, /^\/no\/such\/program could not be started: not found/);
    const nowhere = await runCommandCheck({ argv: ['sh', '-c', 'true'], env: {}, workingDir: '/no/such/dir' }, never);
    assert.equal(nowhere.ok, false);
    assert.equal(nowhere.stage, 'start');
  });

  it('kills the command and its children at the deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-command-'));
    try {
      const marker = join(dir, 'child-survived');
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new Error('context deadline exceeded: custom:slow ran past its 1 s timeout')), 300);
      // The shell starts a child that would write the marker after a second; the group kill stops both.
      const outcome = await runCommandCheck({ argv: ['sh', '-c', `(sleep 1; touch ${marker}) & sleep 30`], env: {} }, deadline.signal);
      assert.equal(outcome.ok, false);
      assert.equal(outcome.stage, 'deadline');
      assert.match(outcome.message, /^sh killed after \d+ ms: context deadline exceeded: custom:slow ran past its 1 s timeout/);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(existsSync(marker), false, 'the background child was killed with its shell');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps only the tail of a long output', async () => {
    const outcome = await runCommandCheck({ argv: ['sh', '-c', 'seq 1 5000; exit 1'], env: {} }, never);
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /: \.\.\..*4999 \| 5000$/);
    assert.ok(outcome.message.length < 400, `${outcome.message.length} characters`);
  });
});
