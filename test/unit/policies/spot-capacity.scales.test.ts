import assert from 'node:assert/strict';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import type { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { machinePoolObject, machineTemplateObject, scaleRequest, spotPoolObject } from '../../support/fleet.js';
import { fakeAuthorizer, loadEvaluator } from '../../support/pipeline.js';
import { judge } from '../../support/review-corpus.js';

/**
 * spot-capacity judges a worker pool's `scale` at any count, and whatever it changes: a pool
 * whose machines levee cannot tell draws `unknown-capacity` on every write levee sees, a scale
 * that leaves its replicas as they were included. validate.levee.dev's scale-changes-what-is-judged
 * must send all of them (test/policies/webhook-match-conditions.test.ts checks it against these
 * reviews), at v1beta1 as at v1beta2.
 */

const SPOT = { kind: 'AWSMachineTemplate', name: 'workers-spot' };

function put(cluster: ClusterState, object: KubeObject): void {
  if (object.kind === 'MachineDeployment' || object.kind === 'MachinePool') cluster.workerPools.upsert(...cluster.workerPools.project(object));
  else cluster.infrastructure.upsert(...cluster.infrastructure.project(object, object.apiVersion?.split('/')[0] ?? '')!);
}

/** Workload cluster `prod`: spot MachineDeployment md-spot (3), MachineDeployment md-x and MachinePool mp-x (3 each) made from what levee cannot read. */
function fleet(): ClusterState {
  const cluster = new ClusterState();
  put(cluster, machineTemplateObject('AWSMachineTemplate', 'workers-spot', { spotMarketOptions: { maxPrice: '0.05' } }));
  put(cluster, spotPoolObject('md-spot', SPOT));
  put(cluster, spotPoolObject('md-x', { kind: 'VSphereMachineTemplate', name: 'x' }));
  put(cluster, machinePoolObject('mp-x', { kind: 'OCIManagedMachinePool', name: 'mp-x' }, { replicas: 3 }));
  return cluster;
}

function poolScale(resource: 'machinedeployments' | 'machinepools', version: 'v1beta1' | 'v1beta2', name: string, from: number, to: number): AdmissionRequest {
  return scaleRequest(resource, name, from, to, 'capi', { resource: { group: 'cluster.x-k8s.io', version, resource } });
}

describe('policies/spot-capacity: worker pool scales at every count', () => {
  let evaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await loadEvaluator();
  });

  async function findings(request: AdmissionRequest): Promise<string[]> {
    const judgement = await judge({ evaluator, cluster: fleet(), config: buildConfig(), authorizer: fakeAuthorizer(), now: () => new Date('2026-11-30T12:00:00Z') }, request, 'validate');
    assert.equal(judgement.error, undefined, judgement.error?.message);
    return (judgement.decision?.findings ?? []).map((finding) => `${finding.policy}/${finding.rule}:${finding.action}`);
  }

  for (const version of ['v1beta1', 'v1beta2'] as const) {
    it(`warns that levee cannot tell a pool's machines on its every scale, one that leaves replicas as they were included (${version})`, async () => {
      for (const [resource, name] of [['machinedeployments', 'md-x'], ['machinepools', 'mp-x']] as const) {
        for (const [from, to] of [[3, 3], [3, 5], [3, 1]] as const) {
          assert.deepEqual(await findings(poolScale(resource, version, name, from, to)), ['spot-capacity/unknown-capacity:warn'], `${resource}/${name} ${from} -> ${to}`);
        }
      }
    });

    it(`warns on a spot pool's every scale, one that changes nothing included, while the cluster keeps on-demand capacity only if unknown machines are on-demand (${version})`, async () => {
      for (const [from, to] of [[3, 3], [3, 6]] as const) {
        assert.deepEqual(await findings(poolScale('machinedeployments', version, 'md-spot', from, to)), ['spot-capacity/unknown-capacity:warn'], `md-spot ${from} -> ${to}`);
      }
    });
  }
});
