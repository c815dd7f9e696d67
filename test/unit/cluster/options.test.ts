import assert from 'node:assert/strict';
import { clusterOptionsFrom, DEFAULT_CLUSTER_OPTIONS } from '../../../src/cluster/options.js';
import { buildConfig } from '../../../src/config.js';

describe('cluster/options', () => {
  it('gives caches built without a configuration exactly what the default configuration gives them', () => {
    assert.deepEqual(DEFAULT_CLUSTER_OPTIONS, JSON.parse(JSON.stringify(clusterOptionsFrom(buildConfig()))));
  });

  it('reads node classification, upgrade intents, control plane discovery, the API server refresh and the recent-decisions bounds from the configuration', () => {
    const config = buildConfig({
      policies: {
        'spot-capacity': { capacityLabels: [{ label: 'example.com/spot', spotValues: ['yes'] }], poolLabels: ['example.com/pool'] },
        'version-skew': {
          apiServerRefreshSeconds: 5,
          upgradeIntents: [],
          controlPlanes: { groups: ['controlplane.example.com'], kinds: [], exclude: ['OtherControlPlane'], versionField: 'spec.kubernetesVersion' },
        },
      },
      recentDecisions: { expirySeconds: 7, maxEntries: 100 },
    });
    assert.deepEqual(clusterOptionsFrom(config), {
      classification: { capacityLabels: [{ label: 'example.com/spot', spotValues: ['yes'] }], poolLabels: ['example.com/pool'] },
      upgradeIntents: [],
      controlPlanes: { groups: ['controlplane.example.com'], kinds: [], exclude: ['OtherControlPlane'], versionField: 'spec.kubernetesVersion' },
      apiServerRefreshMs: 5000,
      recentDecisions: { expiryMs: 7000, maxEntries: 100 },
    });
  });
});
