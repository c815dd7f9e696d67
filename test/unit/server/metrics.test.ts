import assert from 'node:assert/strict';
import { Metrics } from '../../../src/server/metrics.js';

describe('server/metrics', () => {
  it('reads the caches only when scraped, and reports each one', async () => {
    let scrapes = 0;
    const metrics = new Metrics(
      () => (scrapes++, [{ name: 'services', size: 12, synced: true }, { name: 'pods', size: 0, synced: false }]),
      () => [{ name: 'services', ageSeconds: 73.26 }],
    );
    assert.equal(scrapes, 0);
    const text = await metrics.registry.metrics();
    assert.ok(scrapes > 0);
    assert.match(text, /levee_cache_objects\{cache="services"\} 12\n/);
    assert.match(text, /levee_cache_synced\{cache="pods"\} 0\n/);
    assert.match(text, /levee_cache_last_sync_age_seconds\{cache="services"\} 73\.3\n/);
  });

  it('keeps its own registry, so two servers in one process do not share counters', async () => {
    const first = new Metrics(() => []);
    const second = new Metrics(() => []);
    first.decisions.inc({ route: 'validate', outcome: 'denied' });
    assert.match(await first.registry.metrics(), /levee_decisions_total\{route="validate",outcome="denied"\} 1\n/);
    assert.doesNotMatch(await second.registry.metrics(), /levee_decisions_total\{/);
  });
});
