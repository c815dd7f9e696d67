import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { manifestObjects } from '../../../src/manifests/read.js';
import { POLICIES } from '../../../src/policies/registry.js';

interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
}

interface WebhookConfiguration {
  kind: string;
  webhooks: Array<{ name: string; path?: string; clientConfig: { service?: { path?: string } }; rules: Rule[] }>;
}

/** The validating webhooks that judge with the full policy set (not the warn-only kube-system entry). */
function judgingRules(): Rule[] {
  const documents = manifestObjects(readFileSync('manifests/components/webhooks/webhooks.yaml', 'utf8'), 'webhooks.yaml') as unknown as WebhookConfiguration[];
  const validating = documents.find((doc) => doc.kind === 'ValidatingWebhookConfiguration');
  assert.ok(validating);
  return validating.webhooks.filter((webhook) => webhook.clientConfig.service?.path === '/validate').flatMap((webhook) => webhook.rules);
}

const matches = (values: string[], value: string): boolean => values.includes('*') || values.includes(value);

describe('policies/registry', () => {
  it('every kind a policy judges is sent to /validate by some webhook rule, in the version the policy reads', () => {
    const rules = judgingRules();
    const missing: string[] = [];
    for (const policy of POLICIES) {
      for (const kind of policy.kinds) {
        const covered = rules.some(
          (rule) => matches(rule.apiGroups, kind.group) && matches(rule.apiVersions, kind.version) && matches(rule.resources, kind.resource) && rule.operations.includes('CREATE'),
        );
        if (!covered) missing.push(`${policy.id}: ${kind.resource}.${kind.group || 'core'}/${kind.version}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('deletions that can leave the cluster with spot capacity only are sent too', () => {
    const rules = judgingRules();
    for (const [group, resource] of [['', 'nodes'], ['karpenter.sh', 'nodepools'], ['cluster.x-k8s.io', 'machinedeployments'], ['cluster.x-k8s.io', 'machinepools']] as const) {
      assert.ok(
        rules.some((rule) => matches(rule.apiGroups, group) && matches(rule.resources, resource) && rule.operations.includes('DELETE')),
        `DELETE of ${resource}`,
      );
    }
  });

  it('scales of worker pools are sent too: kubectl scale can leave a workload cluster with spot workers only', () => {
    const rules = judgingRules();
    for (const resource of ['machinedeployments/scale', 'machinepools/scale']) {
      assert.ok(rules.some((rule) => matches(rule.apiGroups, 'cluster.x-k8s.io') && rule.resources.includes(resource) && rule.operations.includes('UPDATE')), resource);
    }
  });

  it('policy ids are unique', () => {
    assert.equal(new Set(POLICIES.map((policy) => policy.id)).size, POLICIES.length);
  });
});
