import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRecorder, type AdmissionRecorder } from '../support/admission-recorder.js';
import {
  CAPI_USER,
  installClusterApi,
  startClusterApi,
  uninstallClusterApi,
  type ClusterApiInstall,
} from '../support/cluster-api.js';
import { buildTool } from '../support/controllers.js';
import { e2e, e2ePort, eventually, kubectl } from '../support/e2e.js';
import type { IsolatedProcess } from '../support/isolated-process.js';

/**
 * levee's version-skew and spot-capacity rules against Cluster API's own core controllers
 * (sigs.k8s.io/cluster-api/core at the version tools/cluster-api pins, with its webhooks),
 * acting as system:serviceaccount:capi-system:capi-manager. No infrastructure, bootstrap or
 * control plane provider runs. The topology controller creates a new Cluster's control plane
 * and MachineDeployments in one pass, before any provider reports status; when that first pass
 * fails (levee refused a MachineDeployment), later passes defer the workers while the control
 * plane is "provisioning", so that test writes the KubeadmControlPlane's status as the admin
 * (reportControlPlaneRunning). The MachineSet controller then creates the Machines (with
 * their KubeadmConfigs and AWSMachines), which no provider ever turns into nodes.
 *
 * What Cluster API sends that levee is asked about (recorded with copies of levee's own webhook
 * registrations; the whole list, with field managers, is written to
 * .levee/e2e/cluster-api-requests.txt), all as system:serviceaccount:capi-system:capi-manager:
 *   - UPDATE kubeadmcontrolplanes (metadata.labels cluster.x-k8s.io/cluster-name and
 *     metadata.ownerReferences): the Cluster controller links the control plane named by
 *     Cluster.spec.controlPlaneRef to its Cluster, unless the Cluster is paused; for a ClusterClass
 *     Cluster only the ownerReference changes (the topology controller set the label);
 *   - UPDATE clusters: metadata.finalizers (Cluster controller); metadata.labels,
 *     spec.controlPlaneRef and spec.infrastructureRef (topology controller);
 *   - the topology controller (field manager capi-topology): CREATE kubeadmcontrolplanes (spec.version = spec.topology.version),
 *     CREATE awsmachinetemplates (the clone of a worker class's infrastructure template, a moment
 *     before its MachineDeployment: levee reads spot options from it), CREATE machinedeployments
 *     (one per spec.topology.workers entry, each pointing at its clone), UPDATE machinedeployments
 *     spec.replicas when the topology's replicas change, and server-side-apply dry-runs (dryRun: true, annotation
 *     topology.cluster.x-k8s.io/dry-run) of kubeadmcontrolplanes, machinedeployments and
 *     awsmachinetemplates;
 *   - UPDATE awsmachinetemplates and kubeadmcontrolplanetemplates: metadata.ownerReferences;
 *   - the MachineDeployment controller (field manager capi-machinedeployment): CREATE machinesets,
 *     UPDATE machinesets (spec.replicas with the desired-replicas and max-replicas annotations,
 *     finalizers) and machinedeployments (finalizers, ownerReferences, revision annotation);
 *   - the MachineSet controller (field manager capi-machineset): CREATE machines (spec.version
 *     from the MachineSet's template), UPDATE machines (finalizers; its own server-side applies).
 * Not sent to levee: every status subresource (clusters, machinedeployments, machinesets,
 * clusterclasses), kubeadmconfigtemplates, awsclustertemplates and awsclusters, secrets, events,
 * leases, and the CRD migrator's annotation updates of CustomResourceDefinitions. Nothing goes
 * through machinedeployments/scale. The topology controller never gets to delete a
 * MachineDeployment here: levee refuses the Cluster change that would remove its worker entry.
 */

const namespace = `capi-${Date.now().toString(36)}`;
const CLASS = 'levee-aws';
const VERSION = 'v1.34.4';

const ref = (apiVersion: string, kind: string, name: string) => ({ apiVersion, kind, name });
const INFRA = 'infrastructure.cluster.x-k8s.io/v1beta2';
const infraRef = (kind: string, name: string) => ({ apiGroup: 'infrastructure.cluster.x-k8s.io', kind, name });

function templates(): unknown[] {
  const machineTemplate = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: INFRA,
    kind: 'AWSMachineTemplate',
    metadata: { name, namespace },
    spec: { template: { spec: { instanceType: 'm6i.xlarge', ...spec } } },
  });
  return [
    { apiVersion: INFRA, kind: 'AWSClusterTemplate', metadata: { name: CLASS, namespace }, spec: { template: { spec: { region: 'us-east-1' } } } },
    {
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
      kind: 'KubeadmControlPlaneTemplate',
      metadata: { name: CLASS, namespace },
      spec: { template: { spec: { kubeadmConfigSpec: { format: 'cloud-config' } } } },
    },
    { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta2', kind: 'KubeadmConfigTemplate', metadata: { name: `${CLASS}-workers`, namespace }, spec: { template: { spec: { format: 'cloud-config' } } } },
    machineTemplate(`${CLASS}-control-plane`, {}),
    machineTemplate(`${CLASS}-workers`, {}),
    machineTemplate(`${CLASS}-workers-spot`, { spotMarketOptions: {} }),
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'ClusterClass',
      metadata: { name: CLASS, namespace },
      spec: {
        controlPlane: {
          templateRef: ref('controlplane.cluster.x-k8s.io/v1beta2', 'KubeadmControlPlaneTemplate', CLASS),
          machineInfrastructure: { templateRef: ref(INFRA, 'AWSMachineTemplate', `${CLASS}-control-plane`) },
        },
        infrastructure: { templateRef: ref(INFRA, 'AWSClusterTemplate', CLASS) },
        workers: {
          machineDeployments: ['on-demand', 'spot'].map((worker) => ({
            class: worker,
            bootstrap: { templateRef: ref('bootstrap.cluster.x-k8s.io/v1beta2', 'KubeadmConfigTemplate', `${CLASS}-workers`) },
            infrastructure: { templateRef: ref(INFRA, 'AWSMachineTemplate', worker === 'spot' ? `${CLASS}-workers-spot` : `${CLASS}-workers`) },
          })),
        },
      },
    },
  ];
}

function topologyCluster(name: string, workers: Array<{ class: string; name: string; replicas: number }>) {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name, namespace },
    spec: {
      clusterNetwork: { pods: { cidrBlocks: ['192.168.0.0/16'] } },
      topology: { classRef: { name: CLASS }, version: VERSION, controlPlane: { replicas: 1 }, workers: { machineDeployments: workers } },
    },
  };
}

/** A Cluster as the providers' flat templates write it: its control plane linked only by Cluster.spec.controlPlaneRef. */
function flatCluster(name: string, paused: boolean): unknown[] {
  return [
    { apiVersion: INFRA, kind: 'AWSCluster', metadata: { name, namespace }, spec: { region: 'us-east-1' } },
    {
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
      kind: 'KubeadmControlPlane',
      metadata: { name: `${name}-control-plane`, namespace },
      spec: { replicas: 1, version: VERSION, machineTemplate: { spec: { infrastructureRef: infraRef('AWSMachineTemplate', `${CLASS}-control-plane`) } }, kubeadmConfigSpec: { format: 'cloud-config' } },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: { name, namespace },
      spec: {
        paused,
        controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: `${name}-control-plane` },
        infrastructureRef: infraRef('AWSCluster', name),
      },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDeployment',
      metadata: { name: `${name}-md-0`, namespace },
      spec: {
        clusterName: name,
        replicas: 2,
        selector: { matchLabels: {} },
        template: {
          spec: {
            clusterName: name,
            version: VERSION,
            bootstrap: { configRef: { apiGroup: 'bootstrap.cluster.x-k8s.io', kind: 'KubeadmConfigTemplate', name: `${CLASS}-workers` } },
            infrastructureRef: infraRef('AWSMachineTemplate', `${CLASS}-workers`),
          },
        },
      },
    },
  ];
}

const applyAll = (objects: unknown[], ...extra: string[]) => kubectl(['apply', ...extra, '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') });

async function jsonOf<T>(args: string[]): Promise<T> {
  const result = await kubectl([...args, '-o', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

interface Item {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string }> };
  spec?: { version?: string; replicas?: number; template?: { spec?: { version?: string; infrastructureRef?: { kind: string; name: string } } } };
}

/**
 * What KubeadmControlPlane's controller would report once its machines run. None runs here;
 * without it the topology controller defers creating MachineDeployments for a Cluster whose
 * control plane is still "provisioning".
 */
async function reportControlPlaneRunning(name: string): Promise<void> {
  const status = { status: { version: VERSION, replicas: 1, readyReplicas: 1, availableReplicas: 1, upToDateReplicas: 1, initialization: { controlPlaneInitialized: true } } };
  const result = await kubectl(['patch', 'kubeadmcontrolplane', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  assert.equal(result.code, 0, result.stderr);
}

async function machineDeploymentsOf(cluster: string): Promise<Item[]> {
  return (await jsonOf<{ items: Item[] }>(['get', 'machinedeployments', '-n', namespace, '-l', `cluster.x-k8s.io/cluster-name=${cluster}`])).items;
}

describe('e2e: version-skew and spot-capacity against Cluster API\'s core controllers', function () {
  this.timeout(300_000);
  let install: ClusterApiInstall | undefined;
  let manager: IsolatedProcess | undefined;
  let recorder: AdmissionRecorder | undefined;

  before(async function () {
    this.timeout(3_600_000);
    await e2e();
    await buildTool('cluster-api');
    install = await installClusterApi({ webhookPort: e2ePort(62) });
    recorder = await startRecorder({ port: e2ePort(61), users: [CAPI_USER], name: 'levee-e2e-capi-recorder' });
    manager = await startClusterApi(install);
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    await eventually('Cluster API\'s webhooks to accept the ClusterClass', async () => {
      if (manager!.exited()) throw new Error(`Cluster API exited:\n${manager!.logTail()}`);
      const applied = await applyAll(templates());
      return applied.code === 0 || applied.stderr;
    }, 120_000);
    await eventually('the ClusterClass controller to reconcile the class', async () => {
      const cc = await jsonOf<{ metadata: { generation: number }; status?: { observedGeneration?: number } }>(['get', 'clusterclass', CLASS, '-n', namespace]);
      return cc.status?.observedGeneration === cc.metadata.generation || JSON.stringify(cc.status ?? {});
    });
  });

  after(async function () {
    this.timeout(600_000);
    if (recorder) writeFileSync(join(process.cwd(), '.levee', 'e2e', 'cluster-api-requests.txt'), `${recorder.summary().join('\n')}\n`);
    await kubectl(['delete', 'clusters.cluster.x-k8s.io', '--all', '-n', namespace, '--wait=false']);
    await manager?.stop();
    await recorder?.stop();
    if (install) await uninstallClusterApi(install);
    await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  });

  const upgradeWorkers = (cluster: string) =>
    kubectl(['patch', 'machinedeployment', `${cluster}-md-0`, '-n', namespace, '--type=merge', '-p', '{"spec":{"template":{"spec":{"version":"v1.35.0"}}}}', '--dry-run=server']);

  it('refuses a paused flat Cluster\'s workers outgrowing its control plane: levee follows Cluster.spec.controlPlaneRef before Cluster API labels it', async () => {
    const applied = await applyAll(flatCluster('paused', true));
    assert.equal(applied.code, 0, applied.stderr);
    const kcp = await jsonOf<Item>(['get', 'kubeadmcontrolplane', 'paused-control-plane', '-n', namespace]);
    assert.equal(kcp.metadata.labels?.['cluster.x-k8s.io/cluster-name'], undefined, 'Cluster API leaves a paused Cluster\'s control plane alone');
    const md = (await machineDeploymentsOf('paused'))[0];
    assert.ok(md, 'Cluster API\'s MachineDeployment webhook labelled the workers with their cluster');
    await eventually('levee to link the control plane to its workers through Cluster.spec.controlPlaneRef', async () => {
      const probe = await upgradeWorkers('paused');
      return /rule workers-newer-than-control-plane/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
  });

  it('still refuses the same upgrade once the Cluster controller has labelled the control plane (after unpausing)', async () => {
    assert.equal((await kubectl(['patch', 'cluster', 'paused', '-n', namespace, '--type=merge', '-p', '{"spec":{"paused":false}}'])).code, 0);
    await eventually('the Cluster controller to label and own the control plane', async () => {
      const kcp = await jsonOf<Item>(['get', 'kubeadmcontrolplane', 'paused-control-plane', '-n', namespace]);
      return (kcp.metadata.labels?.['cluster.x-k8s.io/cluster-name'] === 'paused' && (kcp.metadata.ownerReferences ?? []).some((owner) => owner.kind === 'Cluster')) || JSON.stringify(kcp.metadata);
    });
    const labelled = recorder!.requests({ operation: 'UPDATE', resource: 'controlplane.cluster.x-k8s.io/kubeadmcontrolplanes' }).find((entry) => entry.name === 'paused-control-plane');
    assert.ok(labelled?.levee, 'levee is asked about the Cluster controller\'s update of the control plane');
    assert.ok(labelled.changes.includes('metadata.labels') && labelled.changes.includes('metadata.ownerReferences'), labelled.changes.join(', '));
    await eventually('levee to link the control plane to its workers', async () => {
      const probe = await upgradeWorkers('paused');
      return /rule workers-newer-than-control-plane/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
  });

  it('the topology controller expands a ClusterClass Cluster into its control plane and MachineDeployments, and levee is asked about each', async () => {
    const applied = await applyAll([topologyCluster('prod', [{ class: 'on-demand', name: 'md-0', replicas: 2 }, { class: 'spot', name: 'md-spot', replicas: 3 }])]);
    assert.equal(applied.code, 0, applied.stderr);
    let controlPlane = '';
    await eventually('the topology controller to create the control plane', async () => {
      const list = await jsonOf<{ items: Item[] }>(['get', 'kubeadmcontrolplanes', '-n', namespace, '-l', 'cluster.x-k8s.io/cluster-name=prod']);
      controlPlane = list.items[0]?.metadata.name ?? '';
      return controlPlane !== '' || 'none yet';
    });
    const kcp = await jsonOf<Item>(['get', 'kubeadmcontrolplane', controlPlane, '-n', namespace]);
    assert.equal(kcp.spec?.version, VERSION);
    // The topology controller creates the MachineDeployments one by one in Go map order and stops
    // at the first error; levee refuses the spot one when it comes first (no on-demand sibling is
    // stored yet), and later passes defer the workers while the control plane is "provisioning".
    // Reporting the control plane up lets those passes retry until the on-demand one comes first.
    await reportControlPlaneRunning(controlPlane);
    let pools: Item[] = [];
    await eventually('the topology controller to create both MachineDeployments', async () => {
      pools = await machineDeploymentsOf('prod');
      return pools.length === 2 || `${pools.length} so far`;
    }, 180_000);
    const spot = pools.find((pool) => pool.metadata.labels?.['topology.cluster.x-k8s.io/deployment-name'] === 'md-spot')!;
    const template = spot.spec!.template!.spec!.infrastructureRef!;
    assert.equal(template.kind, 'AWSMachineTemplate');
    const clone = await jsonOf<{ spec: { template: { spec: Record<string, unknown> } } }>(['get', 'awsmachinetemplate', template.name, '-n', namespace]);
    assert.deepEqual(clone.spec.template.spec.spotMarketOptions, {}, 'the spot class\'s template was cloned for this MachineDeployment');

    const created = (resource: string) => recorder!.requests({ operation: 'CREATE', resource }).filter((entry) => entry.object?.metadata?.labels?.['cluster.x-k8s.io/cluster-name'] === 'prod');
    assert.ok(created('controlplane.cluster.x-k8s.io/kubeadmcontrolplanes').every((entry) => entry.levee) && created('controlplane.cluster.x-k8s.io/kubeadmcontrolplanes').length === 1);
    assert.equal(created('cluster.x-k8s.io/machinedeployments').filter((entry) => entry.levee && !entry.dryRun).length, 2);
    // levee registers infrastructure machine templates (CREATE, UPDATE) to read their spot options:
    // it is asked about each clone the topology controller makes for this Cluster's workers.
    const templateCreates = recorder!.requests({ operation: 'CREATE', resource: 'infrastructure.cluster.x-k8s.io/awsmachinetemplates' }).filter((entry) => !entry.dryRun);
    for (const pool of pools) {
      const clone = pool.spec!.template!.spec!.infrastructureRef!.name;
      const asked = templateCreates.filter((entry) => entry.name === clone);
      assert.ok(asked.length > 0 && asked.every((entry) => entry.levee), `levee is asked about the clone ${clone}: ${JSON.stringify(asked.map(({ user, levee }) => ({ user, levee })))}`);
    }
  });

  it('the topology controller scales a MachineDeployment by updating spec.replicas, never through /scale', async () => {
    const patch = { spec: { topology: { workers: { machineDeployments: [{ class: 'on-demand', name: 'md-0', replicas: 2 }, { class: 'spot', name: 'md-spot', replicas: 5 }] } } } };
    assert.equal((await kubectl(['patch', 'cluster', 'prod', '-n', namespace, '--type=merge', '-p', JSON.stringify(patch)])).code, 0);
    const spot = (await machineDeploymentsOf('prod')).find((pool) => pool.metadata.labels?.['topology.cluster.x-k8s.io/deployment-name'] === 'md-spot')!;
    await eventually('the topology controller to scale the spot MachineDeployment', async () => {
      const pool = await jsonOf<Item>(['get', 'machinedeployment', spot.metadata.name, '-n', namespace]);
      return pool.spec?.replicas === 5 || `replicas ${pool.spec?.replicas}`;
    });
    const scaled = recorder!.requests({ operation: 'UPDATE', resource: 'cluster.x-k8s.io/machinedeployments', name: spot.metadata.name }).filter((entry) => !entry.dryRun && entry.changes.includes('spec.replicas'));
    assert.ok(scaled.length > 0 && scaled.every((entry) => entry.levee && entry.fieldManager === 'capi-topology'), JSON.stringify(scaled.map(({ fieldManager, levee }) => ({ fieldManager, levee }))));
    assert.deepEqual(recorder!.requests({ resource: 'cluster.x-k8s.io/machinedeployments/scale' }), []);
  });

  it("refuses deleting the topology's on-demand MachineDeployment by hand beside its spot one: its on-demand machines go with it", async () => {
    const onDemand = (await machineDeploymentsOf('prod')).find((pool) => pool.metadata.labels?.['topology.cluster.x-k8s.io/deployment-name'] === 'md-0')!;
    // The delete takes the pool's Machines with it. The topology controller keeps a deleting
    // MachineDeployment in its current state (core/reconcilers/topology/cluster/current_state.go)
    // and makes the pool again only once it and its Machines are gone, so the workload cluster
    // would run on spot alone until new on-demand machines join.
    const deleted = await kubectl(['delete', 'machinedeployment', onDemand.metadata.name, '-n', namespace, '--dry-run=server']);
    assert.notEqual(deleted.code, 0, 'the delete went through');
    assert.match(deleted.stderr, /rule all-pools-spot/);
  });

  it('refuses a Cluster that drops its on-demand workers beside spot ones, before the topology controller deletes any', async () => {
    const onDemand = (await machineDeploymentsOf('prod')).find((pool) => pool.metadata.labels?.['topology.cluster.x-k8s.io/deployment-name'] === 'md-0')!;
    const patch = { spec: { topology: { workers: { machineDeployments: [{ class: 'spot', name: 'md-spot', replicas: 3 }] } } } };
    const edited = await kubectl(['patch', 'cluster', 'prod', '-n', namespace, '--type=merge', '-p', JSON.stringify(patch)]);
    assert.notEqual(edited.code, 0, 'levee refuses the Cluster change');
    assert.match(edited.stderr, /rule all-pools-spot/);
    const cluster = await jsonOf<{ spec: { topology: { workers: { machineDeployments: Array<{ name: string }> } } } }>(['get', 'cluster', 'prod', '-n', namespace]);
    assert.deepEqual(cluster.spec.topology.workers.machineDeployments.map((entry) => entry.name).sort(), ['md-0', 'md-spot']);
    assert.ok((await machineDeploymentsOf('prod')).some((pool) => pool.metadata.name === onDemand.metadata.name), 'the on-demand MachineDeployment is still there');
    assert.deepEqual(recorder!.requests({ operation: 'DELETE', resource: 'cluster.x-k8s.io/machinedeployments' }).filter((entry) => entry.name === onDemand.metadata.name && !entry.dryRun), [], 'the topology controller never tried to delete it');
  });

  it('refuses a ClusterClass Cluster with spot workers only, before the topology controller makes anything of it', async () => {
    const applied = await applyAll([topologyCluster('spotty', [{ class: 'spot', name: 'md-spot', replicas: 3 }])]);
    assert.notEqual(applied.code, 0, 'levee refuses the Cluster');
    assert.match(applied.stderr, /rule all-pools-spot/);
    const left = await kubectl(['get', 'cluster', 'spotty', '-n', namespace]);
    assert.match(left.stderr, /NotFound/);
    assert.deepEqual(recorder!.requests({ resource: 'controlplane.cluster.x-k8s.io/kubeadmcontrolplanes' }).filter((entry) => entry.object?.metadata?.labels?.['cluster.x-k8s.io/cluster-name'] === 'spotty'), []);
  });
});
