import assert from 'node:assert/strict';
import { machineDeploymentCapacity, MachineDeploymentStore, toMachineDeploymentView } from '../../../src/cluster/machine-deployments.js';
import { INFRASTRUCTURE_GROUP, MachineTemplateStore } from '../../../src/cluster/machine-templates.js';
import { machineTemplateObject, spotPoolObject } from '../../support/fleet.js';

function templates(): MachineTemplateStore {
  const store = new MachineTemplateStore();
  store.upsert(...store.project(machineTemplateObject('AWSMachineTemplate', 'spot', { spotMarketOptions: { maxPrice: '0.05' } }), INFRASTRUCTURE_GROUP)!);
  store.upsert(...store.project(machineTemplateObject('AWSMachineTemplate', 'on-demand', {}), INFRASTRUCTURE_GROUP)!);
  return store;
}

describe('cluster/machine-deployments', () => {
  it('reads the template reference in both API versions', () => {
    for (const apiVersion of ['v1beta1', 'v1beta2'] as const) {
      assert.deepEqual(toMachineDeploymentView(spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'spot' }, { apiVersion })), {
        namespace: 'capi',
        name: 'md-0',
        cluster: 'prod',
        infrastructure: { group: INFRASTRUCTURE_GROUP, kind: 'AWSMachineTemplate', name: 'spot' },
      });
    }
  });

  it('takes the workload cluster from the cluster-name label before spec.clusterName', () => {
    const labelled = spotPoolObject('md-0', undefined, { cluster: 'from-spec' });
    labelled.metadata = { ...labelled.metadata, labels: { 'cluster.x-k8s.io/cluster-name': 'from-label' } };
    assert.equal(toMachineDeploymentView(labelled).cluster, 'from-label');
    assert.equal(toMachineDeploymentView(spotPoolObject('md-0', undefined, { cluster: 'from-spec' })).cluster, 'from-spec');
  });

  it('is spot when its template asks for spot, on-demand when the template does not', () => {
    const spot = machineDeploymentCapacity(toMachineDeploymentView(spotPoolObject('a', { kind: 'AWSMachineTemplate', name: 'spot' })), templates());
    assert.deepEqual(spot, { capacity: 'spot', template: 'AWSMachineTemplate/spot', spotField: 'spotMarketOptions' });
    const onDemand = machineDeploymentCapacity(toMachineDeploymentView(spotPoolObject('b', { kind: 'AWSMachineTemplate', name: 'on-demand' })), templates());
    assert.deepEqual(onDemand, { capacity: 'on-demand', template: 'AWSMachineTemplate/on-demand' });
  });

  it('is unknown when levee cannot read the template: not cached, in another namespace, a provider it does not know, or none', () => {
    const capacity = (object: ReturnType<typeof spotPoolObject>) => machineDeploymentCapacity(toMachineDeploymentView(object), templates()).capacity;
    assert.equal(capacity(spotPoolObject('a', { kind: 'AWSMachineTemplate', name: 'not-yet' })), 'unknown');
    assert.equal(capacity(spotPoolObject('a', { kind: 'AWSMachineTemplate', name: 'spot' }, { namespace: 'other' })), 'unknown');
    assert.equal(capacity(spotPoolObject('a', { kind: 'VSphereMachineTemplate', name: 'spot' })), 'unknown');
    assert.equal(capacity(spotPoolObject('a', undefined)), 'unknown');
  });

  it('indexes MachineDeployments by workload cluster through add, move, delete and relist', () => {
    const store = new MachineDeploymentStore();
    const add = (object: ReturnType<typeof spotPoolObject>) => store.upsert(...store.project(object));
    add(spotPoolObject('md-0', undefined, { cluster: 'prod' }));
    add(spotPoolObject('md-1', undefined, { cluster: 'prod' }));
    add(spotPoolObject('md-0', undefined, { cluster: 'prod', namespace: 'other-team' }));
    assert.deepEqual(store.ofCluster('capi', 'prod').map((md) => md.name).sort(), ['md-0', 'md-1']);
    add(spotPoolObject('md-1', undefined, { cluster: 'staging' }));
    assert.deepEqual(store.ofCluster('capi', 'prod').map((md) => md.name), ['md-0']);
    assert.deepEqual(store.ofCluster('capi', 'staging').map((md) => md.name), ['md-1']);
    store.remove(store.project(spotPoolObject('md-0', undefined))[0]);
    assert.deepEqual(store.ofCluster('capi', 'prod'), []);
    assert.equal(store.ofCluster('other-team', 'prod').length, 1);
    store.clear();
    assert.equal(store.size, 0);
  });
});
