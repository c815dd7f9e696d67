import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundle } from '../../../src/engine/bundle.js';
import type { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import { createLogger } from '../../../src/logger.js';
import { watchBundle } from '../../../src/server/bundle-reload.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { gzippedTar } from '../../support/tar.js';
import { until } from '../../support/wait.js';

describe('server/bundle-reload', () => {
  it('keeps the last good bundle through a corrupt one, and swaps in a good one whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-bundle-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(BUNDLE_PATH, path);
    const replace = (content: Buffer | string): void => {
      writeFileSync(`${path}.staged`, content);
      renameSync(`${path}.staged`, path);
    };
    const lines: Array<{ msg: string; code?: string }> = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const loaded: Array<{ evaluator: PolicyEvaluator; digest: string }> = [];
    const current = readBundle(path);
    const stop = watchBundle({ path, current, data: { config: { policies: {} } }, logger, intervalMs: 10, onLoaded: (evaluator, bundle) => loaded.push({ evaluator, digest: bundle.digest }) });
    try {
      await until(() => lines.some((line) => line.msg === 'policy bundle not reloaded; keeping the last good one'), {
        change: () => replace(gzippedTar([{ name: 'policy.wasm', content: 'not wasm' }])),
      });
      assert.equal(lines.find((line) => line.msg.startsWith('policy bundle not reloaded'))?.code, 'BUNDLE_INVALID');
      assert.equal(loaded.length, 0);
      replace('not even gzip');
      await until(() => loaded.length > 0, { change: () => replace(gzippedTar([{ name: 'policy.wasm', content: readBundle(BUNDLE_PATH).wasm }])) });
      assert.notEqual(loaded[0]?.digest, current.digest, 'a different archive of the same policies is a new bundle');
      assert.deepEqual(loaded[0]?.evaluator.evaluate({ context: {} }), { violations: [] });
    } finally {
      stop();
    }
  });
});
