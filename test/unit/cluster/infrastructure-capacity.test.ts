import assert from 'node:assert/strict';
import { findInfrastructureKind, INFRASTRUCTURE_GROUP, InfrastructureStore } from '../../../src/cluster/infrastructure-capacity.js';
import { infrastructureObject, machineTemplateObject } from '../../support/fleet.js';

function spotField(kind: string, spec: Record<string, unknown>): string | undefined {
  const projected = new InfrastructureStore().project(infrastructureObject(kind, 'object', spec), INFRASTRUCTURE_GROUP);
  assert.ok(projected, `${kind} is a kind levee reads`);
  return projected[1].spotField;
}

const template = (machineSpec: Record<string, unknown>) => ({ template: { spec: machineSpec } });

describe('cluster/infrastructure-capacity', () => {
  const cases: Array<[string, string, Record<string, unknown>, string | undefined]> = [
    ['AWSMachineTemplate: spotMarketOptions with a price', 'AWSMachineTemplate', template({ spotMarketOptions: { maxPrice: '0.05' } }), 'spotMarketOptions'],
    ['AWSMachineTemplate: empty spotMarketOptions (on-demand price cap)', 'AWSMachineTemplate', template({ spotMarketOptions: {} }), 'spotMarketOptions'],
    ['AWSMachineTemplate: marketType Spot', 'AWSMachineTemplate', template({ marketType: 'Spot' }), 'marketType: Spot'],
    ['AWSMachineTemplate: marketType CapacityBlock is not spot', 'AWSMachineTemplate', template({ marketType: 'CapacityBlock' }), undefined],
    ['AWSMachineTemplate: spotMarketOptions null is not spot', 'AWSMachineTemplate', template({ spotMarketOptions: null }), undefined],
    ['AWSMachineTemplate: neither', 'AWSMachineTemplate', template({}), undefined],
    ['AzureMachineTemplate: spotVMOptions', 'AzureMachineTemplate', template({ spotVMOptions: { evictionPolicy: 'Delete' } }), 'spotVMOptions'],
    ['AzureMachineTemplate: without', 'AzureMachineTemplate', template({ vmSize: 'Standard_D2s_v3' }), undefined],
    ['GCPMachineTemplate: preemptible', 'GCPMachineTemplate', template({ preemptible: true }), 'preemptible: true'],
    ['GCPMachineTemplate: provisioningModel Spot', 'GCPMachineTemplate', template({ provisioningModel: 'Spot' }), 'provisioningModel: Spot'],
    ['GCPMachineTemplate: Standard, not preemptible', 'GCPMachineTemplate', template({ provisioningModel: 'Standard', preemptible: false }), undefined],
    ['AWSMachinePool: launch template spotMarketOptions', 'AWSMachinePool', { awsLaunchTemplate: { instanceType: 'm5.large', spotMarketOptions: {} } }, 'awsLaunchTemplate.spotMarketOptions'],
    ['AWSMachinePool: launch template marketType Spot', 'AWSMachinePool', { awsLaunchTemplate: { marketType: 'Spot' } }, 'awsLaunchTemplate.marketType: Spot'],
    [
      'AWSMachinePool: a mixed instances policy with no on-demand at all',
      'AWSMachinePool',
      { awsLaunchTemplate: {}, mixedInstancesPolicy: { instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 } } },
      'mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity: 0',
    ],
    [
      'AWSMachinePool: a mixed instances policy with an on-demand base is on-demand capable',
      'AWSMachinePool',
      { awsLaunchTemplate: {}, mixedInstancesPolicy: { instancesDistribution: { onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0 } } },
      undefined,
    ],
    [
      'AWSMachinePool: a mixed instances policy with an on-demand share is on-demand capable',
      'AWSMachinePool',
      { awsLaunchTemplate: {}, mixedInstancesPolicy: { instancesDistribution: { onDemandPercentageAboveBaseCapacity: 20 } } },
      undefined,
    ],
    ['AWSMachinePool: the defaults (100% on-demand)', 'AWSMachinePool', { awsLaunchTemplate: { instanceType: 'm5.large' }, mixedInstancesPolicy: {} }, undefined],
    ['AWSMachinePoolTemplate: its template', 'AWSMachinePoolTemplate', template({ awsLaunchTemplate: { spotMarketOptions: {} } }), 'awsLaunchTemplate.spotMarketOptions'],
    ['AWSManagedMachinePool: capacityType spot', 'AWSManagedMachinePool', { capacityType: 'spot' }, 'capacityType: spot'],
    ['AWSManagedMachinePool: capacityType in another case', 'AWSManagedMachinePool', { capacityType: 'SPOT' }, 'capacityType: spot'],
    ['AWSManagedMachinePool: capacityType onDemand', 'AWSManagedMachinePool', { capacityType: 'onDemand' }, undefined],
    ['AWSManagedMachinePool: no capacityType (on-demand by default)', 'AWSManagedMachinePool', { instanceType: 'm5.large' }, undefined],
    ['AWSManagedMachinePoolTemplate: its template', 'AWSManagedMachinePoolTemplate', template({ capacityType: 'spot' }), 'capacityType: spot'],
    ['AzureMachinePool: spotVMOptions in its machine template', 'AzureMachinePool', { template: { vmSize: 'Standard_D2s_v3', spotVMOptions: {} } }, 'spotVMOptions'],
    ['AzureMachinePool: without', 'AzureMachinePool', { template: { vmSize: 'Standard_D2s_v3' } }, undefined],
    ['AzureManagedMachinePool: scaleSetPriority Spot', 'AzureManagedMachinePool', { mode: 'User', scaleSetPriority: 'Spot' }, 'scaleSetPriority: Spot'],
    ['AzureManagedMachinePool: scaleSetPriority Regular', 'AzureManagedMachinePool', { mode: 'User', scaleSetPriority: 'Regular' }, undefined],
    ['AzureManagedMachinePoolTemplate: its template', 'AzureManagedMachinePoolTemplate', template({ scaleSetPriority: 'Spot' }), 'scaleSetPriority: Spot'],
    ['GCPMachinePool: provisioningModel Spot', 'GCPMachinePool', { instanceType: 'n2-standard-2', provisioningModel: 'Spot' }, 'provisioningModel: Spot'],
    ['GCPManagedMachinePool: spot', 'GCPManagedMachinePool', { spot: true }, 'spot: true'],
    ['GCPManagedMachinePool: preemptible', 'GCPManagedMachinePool', { preemptible: true }, 'preemptible: true'],
    ['GCPManagedMachinePool: neither', 'GCPManagedMachinePool', { machineType: 'e2-medium' }, undefined],
    ['GCPManagedMachinePoolTemplate: its template', 'GCPManagedMachinePoolTemplate', template({ spot: true }), 'spot: true'],
  ];
  for (const [what, kind, spec, expected] of cases) {
    it(what, () => assert.equal(spotField(kind, spec), expected));
  }

  it('never crashes on a spec of the wrong shape', () => {
    for (const spec of [{ template: 'x' }, { awsLaunchTemplate: [1, 2] }, { mixedInstancesPolicy: { instancesDistribution: 'none' } }]) {
      for (const kind of ['AWSMachineTemplate', 'AWSMachinePool', 'AzureMachinePool']) assert.equal(spotField(kind, spec), undefined);
    }
  });

  it('reads only the infrastructure group, and only the providers it knows', () => {
    assert.equal(findInfrastructureKind('cluster.x-k8s.io', 'AWSMachineTemplate'), undefined);
    assert.equal(findInfrastructureKind(INFRASTRUCTURE_GROUP, 'DockerMachineTemplate'), undefined);
    assert.equal(new InfrastructureStore().project(machineTemplateObject('DockerMachineTemplate', 'd', {}), INFRASTRUCTURE_GROUP), undefined);
  });

  it('keys objects by kind, namespace and name, and forgets one kind when its CRD goes', () => {
    const store = new InfrastructureStore();
    store.upsert(...store.project(machineTemplateObject('AWSMachineTemplate', 'workers', {}), INFRASTRUCTURE_GROUP)!);
    store.upsert(...store.project(machineTemplateObject('GCPMachineTemplate', 'workers', { preemptible: true }), INFRASTRUCTURE_GROUP)!);
    assert.equal(store.size, 2);
    store.removeKind('AWSMachineTemplate');
    assert.equal(store.get('AWSMachineTemplate/capi/workers'), undefined);
    assert.equal(store.get('GCPMachineTemplate/capi/workers')?.spotField, 'preemptible: true');
  });
});
