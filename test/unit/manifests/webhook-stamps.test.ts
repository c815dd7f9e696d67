import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
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

const STAMPS_BACKSTOP = 'validate-levee-annotations.levee.dev';

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
    const judged = sent(validating.filter((webhook) => webhook.name !== STAMPS_BACKSTOP), '/validate');
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

  it('fails closed on every write that changes a levee.dev/ annotation where /mutate is skipped or may be: Pods, Nodes, subresources, Bindings', () => {
    const backstop = registrations().validating.find((webhook) => webhook.name === STAMPS_BACKSTOP);
    assert.ok(backstop, `${STAMPS_BACKSTOP} is registered`);
    assert.equal(backstop.failurePolicy, 'Fail');
    const keys = [...sent([backstop], '/validate').keys()];
    for (const expected of ['CREATE pods.core/v1', 'UPDATE pods.core/v1', 'CREATE pods/binding.core/v1', 'CREATE bindings.core/v1', 'CREATE nodes.core/v1', 'UPDATE nodes.core/v1', 'UPDATE */*.core/*', 'UPDATE */*.apps/*']) {
      assert.ok(keys.includes(expected), `${expected} in ${keys.join(', ')}`);
    }
  });

  it('sends /mutate nothing /validate does not judge', () => {
    const { validating, mutating } = registrations();
    const judged = sent(validating, '/validate');
    assert.deepEqual([...sent(mutating, '/mutate').keys()].filter((key) => !judged.has(key)), []);
  });

  it('the dev overlay (npm start, e2e) points every entry at levee on the host, on the entry\'s own path', () => {
    interface Patch { target: { kind: string }; patch: string }
    const overlay = yaml.load(readFileSync('manifests/overlays/dev/kustomization.yaml', 'utf8')) as { patches: Patch[] };
    const urls = new Map<string, string>();
    for (const { target, patch } of overlay.patches) {
      for (const op of yaml.load(patch) as Array<{ path: string; value: { url?: string } }>) {
        const index = /^\/webhooks\/(\d+)\/clientConfig$/.exec(op.path)?.[1];
        if (index !== undefined && op.value.url) urls.set(`${target.kind}/${index}`, new URL(op.value.url).pathname);
      }
    }
    const { validating, mutating } = registrations();
    const missing: string[] = [];
    for (const [kind, webhooks] of [['ValidatingWebhookConfiguration', validating], ['MutatingWebhookConfiguration', mutating]] as const) {
      webhooks.forEach((webhook, index) => {
        if (urls.get(`${kind}/${index}`) !== webhook.clientConfig.service?.path) missing.push(`${webhook.name}: ${urls.get(`${kind}/${index}`) ?? 'no URL'}`);
      });
    }
    assert.deepEqual(missing, []);
  });
});
