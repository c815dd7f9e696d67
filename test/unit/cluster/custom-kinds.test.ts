import assert from 'node:assert/strict';
import { toCrdView, versionToWatch } from '../../../src/cluster/custom-kinds.js';

function crd(versions: Array<{ name: string; served?: boolean; storage?: boolean }>, established = true) {
  return toCrdView({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'machinedeployments.cluster.x-k8s.io' },
    spec: { group: 'cluster.x-k8s.io', names: { kind: 'MachineDeployment', plural: 'machinedeployments' }, versions },
    status: { conditions: [{ type: 'Established', status: established ? 'True' : 'False' }] },
  });
}

describe('cluster/custom-kinds', () => {
  it('reads group, kind, plural, served and storage versions and whether the CRD is established', () => {
    assert.deepEqual(crd([{ name: 'v1beta1', served: true }, { name: 'v1beta2', served: true, storage: true }, { name: 'v1alpha4', served: false }]), {
      name: 'machinedeployments.cluster.x-k8s.io',
      group: 'cluster.x-k8s.io',
      kind: 'MachineDeployment',
      plural: 'machinedeployments',
      servedVersions: ['v1beta1', 'v1beta2'],
      storageVersion: 'v1beta2',
      established: true,
    });
  });

  it('watches the storage version when levee understands it', () => {
    const view = crd([{ name: 'v1beta1', served: true }, { name: 'v1beta2', served: true, storage: true }]);
    assert.equal(versionToWatch(view, { versions: ['v1beta1', 'v1beta2'] }), 'v1beta2');
  });

  it('otherwise the first understood version that is served', () => {
    const view = crd([{ name: 'v1beta1', served: true }, { name: 'v1beta3', served: true, storage: true }]);
    assert.equal(versionToWatch(view, { versions: ['v1beta2', 'v1beta1'] }), 'v1beta1');
  });

  it('nothing while the CRD is not established, or when no version is understood', () => {
    assert.equal(versionToWatch(crd([{ name: 'v1beta2', served: true, storage: true }], false), { versions: ['v1beta2'] }), undefined);
    assert.equal(versionToWatch(crd([{ name: 'v1', served: true, storage: true }]), { versions: ['v1beta2'] }), undefined);
  });
});
