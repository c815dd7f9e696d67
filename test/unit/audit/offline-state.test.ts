import assert from 'node:assert/strict';
import { stateFromManifests } from '../../../src/audit/offline-state.js';
import { CapacityLens } from '../../../src/cluster/workload-capacity.js';
import { clusterClassObject, clusterObject, infrastructureObject, machinePoolObject, machineTemplateObject, spotPoolObject } from '../../support/fleet.js';
import { deploymentObject } from '../../support/reviews.js';

const service = (name: string, selector: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector } });

describe('audit/offline-state', () => {
  it('imagines a running workload ready behind every Service that selects it', () => {
    const cluster = stateFromManifests([deploymentObject('web', '', 3, { app: 'web' }), service('web', { app: 'web' })], 'shop');
    const [svc] = cluster.servicesSelecting('shop', { app: 'web' });
    assert.ok(svc);
    const backing = cluster.backingOf(svc, { kind: 'Deployment', namespace: 'shop', name: 'web' });
    assert.equal(backing.readyEndpoints, 3);
    assert.equal(backing.otherReadyEndpoints, 0);
    assert.equal(cluster.synced, true);
  });

  it('counts another workload in the input as a backend', () => {
    const cluster = stateFromManifests(
      [deploymentObject('web', 'shop', 0, { app: 'web' }), deploymentObject('web-v2', 'shop', 2, { app: 'web', v: '2' }), service('web', { app: 'web' })],
      'shop',
    );
    const backing = cluster.backingOf(cluster.servicesSelecting('shop', { app: 'web' })[0]!, { kind: 'Deployment', namespace: 'shop', name: 'web' });
    assert.equal(backing.otherReadyEndpoints, 2);
    assert.deepEqual(backing.otherBackends, ['Deployment/web-v2']);
  });

  it('imagines no endpoints for a workload at zero', () => {
    const cluster = stateFromManifests([deploymentObject('web', 'shop', 0, { app: 'web' }), service('web', { app: 'web' })], 'shop');
    assert.equal(cluster.endpointSlices.size, 0);
  });

  it('reads Cluster API worker pools, their machine templates and their versions from the manifests', () => {
    const { metadata: _ns, ...template } = machineTemplateObject('AWSMachineTemplate', 'workers-spot', { spotMarketOptions: {} });
    const cluster = stateFromManifests(
      [{ ...template, metadata: { name: 'workers-spot' } }, spotPoolObject('md-spot', { kind: 'AWSMachineTemplate', name: 'workers-spot' })],
      'capi',
    );
    const [pool] = cluster.workerPools.ofCluster('capi', 'prod');
    assert.ok(pool);
    assert.equal(new CapacityLens(cluster).capacityOf('capi', 'prod').pools[0]?.capacity, 'spot');
    assert.equal(cluster.upgradeIntents.size, 1, 'the MachineDeployment is an upgrade intent too');
  });

  it('reads MachinePools, their infrastructure machine pools, Clusters and ClusterClasses from the manifests', () => {
    const cluster = stateFromManifests(
      [
        machinePoolObject('mp-0', { kind: 'AWSManagedMachinePool', name: 'mp-0' }),
        infrastructureObject('AWSManagedMachinePool', 'mp-0', { capacityType: 'spot' }),
        clusterObject('prod', { topology: { class: 'aws' } }),
        clusterClassObject('aws', { machineDeployments: { default: { kind: 'AWSMachineTemplate', name: 'worker' } } }),
      ],
      'capi',
    );
    assert.deepEqual(new CapacityLens(cluster).capacityOf('capi', 'prod').tally, { onDemand: 0, spot: 2, unknown: 0 });
    assert.equal(cluster.clusterClasses.using('AWSMachineTemplate', 'capi', 'worker').length, 1);
  });
});
