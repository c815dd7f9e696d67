import assert from 'node:assert/strict';
import { buildConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';

describe('version-skew and spot-capacity settings', () => {
  it('default to the Cluster API kinds, the providers\' spot labels and a floor of 2 on-demand nodes', () => {
    const { policies } = buildConfig();
    assert.deepEqual(
      policies['version-skew'].upgradeIntents.map((kind) => `${kind.kind}.${kind.group}:${kind.versionField}:${kind.role}`),
      [
        'KubeadmControlPlane.controlplane.cluster.x-k8s.io:spec.version:control-plane',
        'MachineDeployment.cluster.x-k8s.io:spec.template.spec.version:workers',
        'MachinePool.cluster.x-k8s.io:spec.template.spec.version:workers',
        'MachineSet.cluster.x-k8s.io:spec.template.spec.version:workers',
        'Machine.cluster.x-k8s.io:spec.version:workers',
        'Cluster.cluster.x-k8s.io:spec.topology.version:control-plane-and-workers',
      ],
    );
    assert.ok(policies['version-skew'].upgradeIntents.every((kind) => kind.versions.includes('v1beta1') && kind.versions.includes('v1beta2')));
    assert.equal(policies['version-skew'].rules['addon-downgrade'], 'warn');
    assert.equal(policies['spot-capacity'].minOnDemandNodes, 2);
    assert.equal(policies['spot-capacity'].rules['on-demand-floor-by-failure-handler'], 'audit');
    assert.ok(policies['spot-capacity'].failureHandlers.includes('system:node:{node}'));
  });

  it('layers overrides over the defaults', () => {
    const config = buildConfig({ policies: { 'spot-capacity': { minOnDemandNodes: 3, minOnDemandShare: 0.25 }, 'version-skew': { apiServerRefreshSeconds: 30 } } });
    assert.equal(config.policies['spot-capacity'].minOnDemandNodes, 3);
    assert.equal(config.policies['spot-capacity'].minOnDemandShare, 0.25);
    assert.equal(config.policies['version-skew'].apiServerRefreshSeconds, 30);
    assert.equal(config.policies['spot-capacity'].capacityLabels.length, 7);
  });

  it('never lets a failure handler be denied', () => {
    assert.throws(
      () => buildConfig({ policies: { 'spot-capacity': { rules: { 'on-demand-floor-by-failure-handler': 'deny' } } } }),
      (err: unknown) => err instanceof ConfigError && /policies\.spot-capacity\.rules\.on-demand-floor-by-failure-handler/.test(err.message),
    );
  });

  it('names a wrong key or value', () => {
    assert.throws(() => buildConfig({ policies: { 'spot-capacity': { minOnDemandShare: 2 } } }), /policies\.spot-capacity\.minOnDemandShare/);
    assert.throws(() => buildConfig({ policies: { 'version-skew': { upgradeIntents: [{ group: 'x', kind: 'Y', versions: [], versionField: 'spec.version', role: 'workers' }] } } }), /upgradeIntents\.0\.versions/);
    assert.throws(() => buildConfig({ policies: { 'version-skew': { rules: { 'minor-skipp': 'warn' } } } }), /version-skew\.rules.*minor-skipp.*unknown key|unknown key.*minor-skipp/);
  });

  it('refuses an upgrade intent in a built-in group whose writes the webhook filters by field', () => {
    for (const group of ['apps', 'batch']) {
      assert.throws(
        () => buildConfig({ policies: { 'version-skew': { upgradeIntents: [{ group, kind: 'Deployment', versions: ['v1'], versionField: 'metadata.annotations.version', role: 'workers' }] } } }),
        (err: unknown) => err instanceof ConfigError && /upgradeIntents\.0\.group: an upgrade intent must be a custom resource/.test(err.message),
      );
    }
  });
});
