import assert from 'node:assert/strict';
import { findMachineTemplateKind, INFRASTRUCTURE_GROUP, MachineTemplateStore } from '../../../src/cluster/machine-templates.js';
import { machineTemplateObject } from '../../support/fleet.js';

function spotField(kind: string, machineSpec: Record<string, unknown>): string | undefined {
  const store = new MachineTemplateStore();
  const projected = store.project(machineTemplateObject(kind, 'template', machineSpec), INFRASTRUCTURE_GROUP);
  assert.ok(projected, `${kind} is a kind levee reads`);
  return projected[1].spotField;
}

describe('cluster/machine-templates', () => {
  const cases: Array<[string, string, Record<string, unknown>, string | undefined]> = [
    ['AWS spotMarketOptions with a price', 'AWSMachineTemplate', { spotMarketOptions: { maxPrice: '0.05' } }, 'spotMarketOptions'],
    ['AWS empty spotMarketOptions (on-demand price cap)', 'AWSMachineTemplate', { spotMarketOptions: {} }, 'spotMarketOptions'],
    ['AWS marketType Spot', 'AWSMachineTemplate', { marketType: 'Spot' }, 'marketType: Spot'],
    ['AWS marketType CapacityBlock is not spot', 'AWSMachineTemplate', { marketType: 'CapacityBlock' }, undefined],
    ['AWS with neither', 'AWSMachineTemplate', {}, undefined],
    ['Azure spotVMOptions', 'AzureMachineTemplate', { spotVMOptions: { evictionPolicy: 'Delete' } }, 'spotVMOptions'],
    ['Azure without spotVMOptions', 'AzureMachineTemplate', { vmSize: 'Standard_D2s_v3' }, undefined],
    ['GCP preemptible', 'GCPMachineTemplate', { preemptible: true }, 'preemptible: true'],
    ['GCP provisioningModel Spot', 'GCPMachineTemplate', { provisioningModel: 'Spot' }, 'provisioningModel: Spot'],
    ['GCP Standard, not preemptible', 'GCPMachineTemplate', { provisioningModel: 'Standard', preemptible: false }, undefined],
  ];
  for (const [what, kind, spec, expected] of cases) {
    it(what, () => assert.equal(spotField(kind, spec), expected));
  }

  it('reads only the infrastructure group, and only the providers it knows', () => {
    assert.equal(findMachineTemplateKind('cluster.x-k8s.io', 'AWSMachineTemplate'), undefined);
    assert.equal(findMachineTemplateKind(INFRASTRUCTURE_GROUP, 'DockerMachineTemplate'), undefined);
    assert.equal(new MachineTemplateStore().project(machineTemplateObject('DockerMachineTemplate', 'd', {}), INFRASTRUCTURE_GROUP), undefined);
  });

  it('keys templates by kind, namespace and name, and forgets one kind when its CRD goes', () => {
    const store = new MachineTemplateStore();
    store.upsert(...store.project(machineTemplateObject('AWSMachineTemplate', 'workers', {}), INFRASTRUCTURE_GROUP)!);
    store.upsert(...store.project(machineTemplateObject('GCPMachineTemplate', 'workers', { preemptible: true }), INFRASTRUCTURE_GROUP)!);
    assert.equal(store.size, 2);
    store.removeKind('AWSMachineTemplate');
    assert.equal(store.get('AWSMachineTemplate/capi/workers'), undefined);
    assert.equal(store.get('GCPMachineTemplate/capi/workers')?.spotField, 'preemptible: true');
  });
});
