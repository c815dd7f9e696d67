import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';
import { closeOnSignal } from '../../src/shutdown.js';

describe('shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`closes what runs on ${signal}, then resolves`, async () => {
      const other = signal === 'SIGTERM' ? 'SIGINT' : 'SIGTERM';
      const before = new Set(process.listeners(other));
      let closed = 0;
      const done = closeOnSignal({ close: async () => void closed++ }, createLogger('silent'));
      assert.equal(closed, 0);
      process.emit(signal, signal);
      await done;
      assert.equal(closed, 1);
      // The other signal's listener is still there; drop only that one so it cannot fire later.
      for (const listener of process.listeners(other)) if (!before.has(listener)) process.off(other, listener);
    });
  }
});
