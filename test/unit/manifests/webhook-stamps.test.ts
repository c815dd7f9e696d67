import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { manifestObjects } from '../../../src/manifests/read.js';

interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
}
interface Webhook {
  name: string;
  failurePolicy: string;
  clientConfig: { service?: { path?: string } };
  rules: Rule[];
}
interface WebhookConfiguration {
  kind: string;
  webhooks: Webhook[];
}

function registrations(): { validating: Webhook[]; mutating: Webhook[] } {
  const documents = manifestObjects(readFileSync('manifests/components/webhooks/webhooks.yaml', 'utf8'), 'webhooks.yaml') as unknown as WebhookConfiguration[];
  const of = (kind: string) => documents.find((doc) => doc.kind === kind)?.webhooks ?? [];
  return { validating: of('ValidatingWebhookConfiguration'), mutating: of('MutatingWebhookConfiguration') };
}

/** Every (group, version, resource, operation) a set of webhooks sends, with the failure policy it is sent under. */
function sent(webhooks: Webhook[], path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const webhook of webhooks.filter((w) => w.clientConfig.service?.path === path)) {
    for (const rule of webhook.rules) {
      for (const group of rule.apiGroups) for (const version of rule.apiVersions) for (const resource of rule.resources) for (const operation of rule.operations) {
        out.set(`${operation} ${resource}.${group || 'core'}/${version}`, webhook.failurePolicy);
      }
    }
  }
  return out;
}

describe('manifests/components/webhooks: stamps', () => {
  it('sends /mutate every create and update of a kind /validate judges that can carry a stamp, under the same failure policy', () => {
    const { validating, mutating } = registrations();
    const judged = sent(validating, '/validate');
    const mutated = sent(mutating, '/mutate');
    const missing: string[] = [];
    for (const [key, failurePolicy] of judged) {
      const [operation, resource] = key.split(' ') as [string, string];
      // A Scale object carries no annotations; a DELETE has no object to stamp.
      if (operation === 'DELETE' || resource.split('.')[0]!.includes('/')) continue;
      if (mutated.get(key) !== failurePolicy) missing.push(`${key} (${failurePolicy}; /mutate: ${mutated.get(key) ?? 'not sent'})`);
    }
    assert.deepEqual(missing, []);
  });

  it('sends /mutate nothing /validate does not judge', () => {
    const { validating, mutating } = registrations();
    const judged = sent(validating, '/validate');
    assert.deepEqual([...sent(mutating, '/mutate').keys()].filter((key) => !judged.has(key)), []);
  });
});
