import assert from 'node:assert/strict';
import { admissionResponse } from '../../src/admission/response.js';
import { offlineAuthorizer } from '../../src/cluster/authorizer.js';
import { ClusterState } from '../../src/cluster/state.js';
import { parseKubeVersion } from '../../src/cluster/versions.js';
import { buildConfig } from '../../src/config.js';
import { judge } from '../../src/engine/pipeline.js';
import type { AdmissionRequest } from '../../src/kube/types.js';
import { itJudgesTheSharedCases, shippedEvaluator, sharedCases } from '../support/bundle.js';
import { NODE, nodeObject, request } from '../support/fleet.js';

describe('policies/version_skew.rego through the compiled wasm bundle', () => {
  itJudgesTheSharedCases('version_skew.json', 'version_skew');

  it('every violation names the policy and rule, quotes both versions, and carries the context as details', async () => {
    const evaluator = await shippedEvaluator();
    const [replay] = sharedCases('version_skew.json', 'version_skew');
    const violations = evaluator.evaluate(replay!.input).violations;
    assert.equal(violations.length, 2);
    for (const violation of violations) {
      assert.equal(violation.policy, 'version-skew');
      assert.match(violation.message, /v1\.12\.10/);
      assert.match(violation.message, /v1\.20\.2/);
      assert.ok(violation.message.includes(`rule ${violation.rule}`), violation.message);
      assert.equal((violation.details as { subject?: string }).subject, 'intent');
    }
  });

  describe('the only-changes guard, which TypeScript owns', () => {
    const allowed = async (admission: AdmissionRequest): Promise<boolean> => {
      const cluster = new ClusterState();
      cluster.apiServer.record(parseKubeVersion('v1.34.4')!);
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('node-a', { kubelet: 'v1.35.1' })));
      const deps = { evaluator: await shippedEvaluator(), cluster, config: buildConfig(), authorizer: offlineAuthorizer, now: () => new Date() };
      return admissionResponse(admission.uid, await judge(deps, admission, 'validate'), { route: 'validate' }).allowed;
    };

    it('never refuses a heartbeat from an already newer kubelet, through judge() and the compiled bundle', async () => {
      const newer = nodeObject('node-a', { kubelet: 'v1.35.1' });
      assert.equal(await allowed(request(NODE, 'UPDATE', newer, structuredClone(newer), { subResource: 'status' })), true);
    });

    it('refuses a node registering with, or upgrading in place to, that kubelet', async () => {
      const newer = nodeObject('node-a', { kubelet: 'v1.35.1' });
      assert.equal(await allowed(request(NODE, 'UPDATE', newer, nodeObject('node-a', { kubelet: 'v1.34.4' }), { subResource: 'status' })), false);
      assert.equal(await allowed(request(NODE, 'CREATE', nodeObject('node-b', { kubelet: 'v1.35.1' }), null)), false);
    });
  });
});
