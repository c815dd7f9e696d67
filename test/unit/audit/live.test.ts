import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveKinds, liveState } from '../../../src/audit/live.js';
import { toCrdView } from '../../../src/cluster/custom-kinds.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import { loadKubeConfig } from '../../../src/cluster/kubeconfig.js';
import { DEFAULT_CLUSTER_OPTIONS } from '../../../src/cluster/options.js';
import { createLogger } from '../../../src/logger.js';
import { FakeApiServer, webBehindService } from '../../support/fake-apiserver.js';

describe('audit/live', () => {
  const pods = Array.from({ length: 1201 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'big', resourceVersion: '1' }, spec: {} }));
  const server = new FakeApiServer({ ...webBehindService(), '/api/v1/pods': pods });

  before(() => server.start());
  after(() => server.stop());

  it('reads the cluster once, in pages of `limit` objects, following continue tokens, with a progress line', async () => {
    const kubeconfig = loadKubeConfig(server.kubeconfig(mkdtempSync(join(tmpdir(), 'levee-live-'))));
    const progress: string[] = [];
    const live = await liveState(kubeconfig, createLogger('silent'), DEFAULT_CLUSTER_OPTIONS, { pageSize: 500, progress: (line) => progress.push(line) });
    try {
      assert.equal(live.cluster.pods.size, 1201);
      assert.ok(live.cluster.synced);
      assert.deepEqual(server.lists.filter((list) => list.startsWith('/api/v1/pods')), ['/api/v1/pods?limit=500', '/api/v1/pods?continue=500&limit=500', '/api/v1/pods?continue=1000&limit=500']);
      assert.ok(server.lists.filter((list) => !list.startsWith('/apis/apiextensions')).every((list) => /[?&]limit=500/.test(list)), server.lists.join('\n'));
      assert.match(progress.at(-1) ?? '', /levee audit: \d+ objects read from the cluster/);
    } finally {
      live.stop();
    }
  });

  describe('the kinds levee audit --cluster lists', () => {
    const crd = (group: string, kind: string, plural: string, storage: string) =>
      toCrdView({
        metadata: { name: `${plural}.${group}` },
        spec: { group, names: { kind, plural }, versions: [{ name: storage, served: true, storage: true }] },
        status: { conditions: [{ type: 'Established', status: 'True' }] },
      });

    it('each kind once, built-in kinds always, custom kinds only with their CRD and in the version it stores, control planes of any provider', () => {
      const cluster = new ClusterState();
      for (const view of [
        crd('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments', 'v1beta1'),
        crd('controlplane.cluster.x-k8s.io', 'FooControlPlane', 'foocontrolplanes', 'v1alpha1'),
        crd('controlplane.cluster.x-k8s.io', 'FooControlPlaneTemplate', 'foocontrolplanetemplates', 'v1alpha1'),
      ]) {
        cluster.crds.upsert(view.name, view);
      }
      const kinds = liveKinds(cluster, buildConfig());
      const names = kinds.map((kind) => `${kind.kind}.${kind.group}/${kind.version}`);
      assert.equal(names.filter((name) => name.startsWith('Node.')).length, 1, 'Nodes are judged by two policies and listed once');
      assert.ok(names.includes('Deployment.apps/v1'));
      assert.ok(names.includes('MachineDeployment.cluster.x-k8s.io/v1beta1'), names.join(' '));
      assert.ok(names.includes('FooControlPlane.controlplane.cluster.x-k8s.io/v1alpha1'), names.join(' '));
      assert.equal(kinds.find((kind) => kind.kind === 'FooControlPlane')?.resource, 'foocontrolplanes');
      assert.ok(!names.some((name) => name.startsWith('FooControlPlaneTemplate') || name.startsWith('NodePool') || name.startsWith('AWSMachineTemplate')), names.join(' '));
    });
  });
});
