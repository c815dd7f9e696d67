import assert from 'node:assert/strict';
import { CacheFreshness } from '../../../src/cluster/freshness.js';
import { createLogger } from '../../../src/logger.js';
import { logStaleness } from '../../../src/server/staleness.js';

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('server/staleness', () => {
  it('logs once when caches go stale, naming them, and once when they are current again', async () => {
    let clock = 0;
    const freshness = new CacheFreshness(() => clock);
    freshness.current('services', '/api/v1/services');
    freshness.current('pods', '/api/v1/pods');
    const lines: Array<{ msg: string; stale?: unknown }> = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const stop = logStaleness(freshness, 60, logger, 5);
    try {
      freshness.broken('services', '/api/v1/services');
      clock = 30_000;
      await settle(30);
      assert.equal(lines.length, 0, 'a break shorter than the bound is not stale');
      clock = 73_000;
      await settle(30);
      assert.equal(lines.length, 1, 'one line however often it checks');
      assert.equal(lines[0]?.msg, 'cluster caches stale: services (73 s); answering from the last known state');
      assert.deepEqual(lines[0]?.stale, [{ cache: 'services', ageSeconds: 73 }]);
      freshness.current('services', '/api/v1/services');
      await settle(30);
      assert.equal(lines.length, 2);
      assert.equal(lines[1]?.msg, 'cluster caches current again');
    } finally {
      stop();
    }
  });
});
