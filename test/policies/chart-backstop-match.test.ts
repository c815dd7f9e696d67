import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionRequest, KubeObject } from '../../src/kube/types.js';
import { renderChart } from '../support/helm.js';
import { failClosedValidatingEntries, matchWebhooks, reachesFailClosedValidate } from '../support/webhook-match.js';

/**
 * The chart's per-entry settings and the stamp backstop, by kube-apiserver's own matcher
 * (tools/webhook-match) over the registrations `helm template` renders. validate.levee.dev is
 * the backstop for the kinds it judges outside kube-system, so its failurePolicy,
 * namespaceSelector and objectSelector are the backstop's there too (charts/levee/values.yaml
 * says so); the stamp-only entries keep Pods, Nodes, Bindings and kube-system fail-closed
 * whatever validate's settings. admission.excludeNamespaces leaves a namespace out of every
 * entry, the stamp-only ones included.
 */

const RECORD = 'levee.dev/override-authorized-by';
const FORGED = '{"username":"alice","groups":["system:masters"],"override":""}';

function update(group: string, version: string, kind: string, resource: string, namespace: string): AdmissionRequest {
  const object = (annotations: Record<string, string>): KubeObject => ({ apiVersion: group ? `${group}/${version}` : version, kind, metadata: { name: 'x', namespace, annotations, labels: { app: 'x' } } });
  return {
    uid: `${resource}-${namespace}`,
    kind: { group, version, kind },
    resource: { group, version, resource },
    name: 'x',
    namespace,
    operation: 'UPDATE',
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
    object: object({ [RECORD]: FORGED }),
    oldObject: object({}),
    dryRun: false,
  };
}

const WRITES: Array<[string, AdmissionRequest]> = [
  ['deployment in shop', update('apps', 'v1', 'Deployment', 'deployments', 'shop')],
  ['cronjob in shop', update('batch', 'v1', 'CronJob', 'cronjobs', 'shop')],
  ['pod in shop', update('', 'v1', 'Pod', 'pods', 'shop')],
  ['deployment in kube-system', update('apps', 'v1', 'Deployment', 'deployments', 'kube-system')],
  ['deployment in batch', update('apps', 'v1', 'Deployment', 'deployments', 'batch')],
  ['pod in batch', update('', 'v1', 'Pod', 'pods', 'batch')],
];

/** Per write, whether it reaches /validate on an entry that fails closed, with the chart rendered from `values`. */
async function guarded(values: Record<string, unknown>): Promise<Record<string, boolean>> {
  const dir = mkdtempSync(join(tmpdir(), 'levee-chart-backstop-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const configurations = (await renderChart('levee', 'levee-system', ['--values', file])).filter((object) => object.kind.endsWith('WebhookConfiguration'));
    const failClosed = failClosedValidatingEntries(configurations);
    // The matcher selects namespaces by kubernetes.io/metadata.name alone: no namespace carries another label.
    const calls = matchWebhooks(configurations, WRITES.map(([, request]) => request));
    return Object.fromEntries(WRITES.map(([name], i) => [name, reachesFailClosedValidate(calls[i]!, failClosed)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('charts/levee: validate\'s settings are the stamp backstop\'s for the kinds it judges (tools/webhook-match)', function () {
  this.timeout(10 * 60_000);
  const everywhere = Object.fromEntries(WRITES.map(([name]) => [name, true]));

  it('by default every write adding a forged record reaches a fail-closed /validate entry', async () => {
    assert.deepEqual(await guarded({}), everywhere);
  });

  it('validate: {failurePolicy: Ignore} leaves the judged kinds outside kube-system without a fail-closed backstop; Pods and kube-system keep theirs', async () => {
    assert.deepEqual(await guarded({ admission: { webhooks: { validate: { failurePolicy: 'Ignore' } } } }), {
      ...everywhere, 'deployment in shop': false, 'cronjob in shop': false, 'deployment in batch': false,
    });
  });

  it('a namespaceSelector or an objectSelector on validate narrows the backstop on those kinds the same way', async () => {
    const narrowed = { ...everywhere, 'deployment in shop': false, 'cronjob in shop': false, 'deployment in batch': false };
    assert.deepEqual(await guarded({ admission: { webhooks: { validate: { namespaceSelector: { matchLabels: { 'levee.example/judged': 'true' } } } } } }), narrowed);
    assert.deepEqual(await guarded({ admission: { webhooks: { validate: { objectSelector: { matchLabels: { 'levee.example/judged': 'true' } } } } } }), narrowed);
  });

  it('admission.excludeNamespaces leaves a namespace out of the backstop too, Pods included', async () => {
    assert.deepEqual(await guarded({ admission: { excludeNamespaces: ['batch'] } }), { ...everywhere, 'deployment in batch': false, 'pod in batch': false });
  });

  it('values.yaml says so, next to each setting', () => {
    const values = readFileSync('charts/levee/values.yaml', 'utf8');
    const excludeComment = values.slice(0, values.indexOf('excludeNamespaces:')).split('\n').slice(-3).join('\n');
    assert.match(excludeComment, /levee\.dev\/ annotation/, 'excludeNamespaces says excluded namespaces lose the stamp backstop');
    const validateComment = values.slice(values.indexOf('#   validate '), values.indexOf('#   validate-nodes'));
    for (const setting of ['Ignore', 'namespaceSelector', 'objectSelector']) assert.ok(validateComment.includes(setting), `the validate line names ${setting}: ${validateComment}`);
  });
});
