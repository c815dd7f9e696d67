import assert from 'node:assert/strict';
import type { AdmissionResponse, AdmissionReview } from '../../src/admission/types.js';
import { createLogger } from '../../src/logger.js';
import { ChangeProbe } from '../../src/server/change-probe.js';
import type { Verdict } from '../../src/probe-verdict.js';
import { call, makeTestCerts, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * probe-on-change through real HTTPS: the hook in serve starts a run only for platform changes
 * it admits for real, the next one waits for that run, on the kube-system (warn-only) route too,
 * and parallel platform changes cannot all slip in before the first one's hold.
 */

let uids = 0;

function deploymentReview(namespace: string, image: string, options: { dryRun?: boolean; operation?: 'CREATE' | 'UPDATE'; annotations?: Record<string, string>; oldImage?: string } = {}): unknown {
  // The override annotations are the request's own: only the new object carries them.
  const object = (tag: string, annotations?: Record<string, string>) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace, uid: 'uid-coredns', labels: { k8s: 'dns' }, ...(annotations ? { annotations } : {}) },
    spec: { replicas: 2, selector: { matchLabels: { k8s: 'dns' } }, template: { metadata: { labels: { k8s: 'dns' } }, spec: { containers: [{ name: 'dns', image: tag }] } } },
  });
  const operation = options.operation ?? 'UPDATE';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${++uids}`,
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'coredns',
      namespace,
      operation,
      userInfo: { username: 'platform-admin', groups: ['system:authenticated'] },
      object: object(image, options.annotations),
      oldObject: operation === 'UPDATE' ? object(options.oldImage ?? 'registry.example/dns:0') : null,
      dryRun: options.dryRun ?? false,
    },
  };
}

describe('server: probe-on-change holds the platform change after an admitted one', () => {
  let certs: TestCerts;
  let server: TestServer;
  let asked: string[];
  let finish: Array<(verdict: Verdict) => void>;
  let changeProbe: ChangeProbe;

  before(async () => {
    certs = await makeTestCerts();
  });
  beforeEach(async () => {
    asked = [];
    finish = [];
    changeProbe = new ChangeProbe({
      requestRun: (reason) => {
        asked.push(reason);
        return new Promise<Verdict>((resolve) => finish.push(resolve));
      },
      maxHoldSeconds: 60,
      logger: createLogger('silent'),
    });
    server = await startTestServer({ certs, changeProbe });
  });
  afterEach(() => server.close());

  it('a platform change admitted while another waited for its override check is not missed: that one is sent back', async () => {
    await server.close();
    // A slow SubjectAccessReview keeps each request's decision open for 100 ms.
    const authorizer = { mayOverride: () => new Promise<{ allowed: boolean }>((resolve) => setTimeout(() => resolve({ allowed: true }), 100)) };
    server = await startTestServer({ certs, changeProbe, authorizer, config: { policies: { 'version-skew': { rules: { 'addon-downgrade': 'deny' } } } } });
    const override = { 'levee.dev/override': 'version-skew', 'levee.dev/override-reason': 'CoreDNS 1.12 breaks our stub domains', 'levee.dev/override-expires': new Date(Date.now() + 3600_000).toISOString() };
    const downgrade = (patch: number): unknown => deploymentReview('kube-system', `registry.k8s.io/coredns/coredns:v1.11.${patch}`, { oldImage: 'registry.k8s.io/coredns/coredns:v1.12.0', annotations: override });
    const answers = await Promise.all([1, 2, 3, 4].map((patch) => send('/validate/warn-only', downgrade(patch))));
    assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((answer) => answer.status?.message ?? 'allowed')));
    assert.equal(asked.length, 1);
    assert.ok(answers.some((answer) => answer.status?.code === 409 && /another platform change was admitted while it was being judged/.test(answer.status.message ?? '')), JSON.stringify(answers));
  });

  async function send(path: string, body: unknown): Promise<AdmissionResponse & { status?: { code?: number; message?: string } }> {
    const answer = await call(server.port, certs.ca, { path, body: JSON.stringify(body) });
    assert.equal(answer.status, 200, answer.text);
    return (answer.json() as AdmissionReview).response!;
  }

  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('refuses the next kube-system change on the warn-only route while the run is pending, and lets it through after a Healthy verdict', async () => {
    const first = await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:1'));
    assert.equal(first.allowed, true);
    assert.deepEqual(asked, ['after changing the pod template of Deployment kube-system/coredns']);
    const held = await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:2'));
    assert.equal(held.allowed, false, 'the hold stands on the warn-only route');
    assert.equal(held.status?.code, 403);
    assert.match(held.status?.message ?? '', /^levee denied this request: \[probe-on-change\] a probe run after changing the pod template of Deployment kube-system\/coredns \(admitted 0 s ago\) is in progress; retry in \d+ s\./);
    assert.equal(asked.length, 1, 'a held change starts nothing');
    finish.shift()!('Healthy');
    await settle();
    const after = await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:2'));
    assert.equal(after.allowed, true, JSON.stringify(after));
    assert.equal(asked.length, 2);
  });

  it('a dry-run is judged and held alike, and starts no run', async () => {
    const dryRun = await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:1', { dryRun: true }));
    assert.equal(dryRun.allowed, true);
    assert.equal(asked.length, 0);
    await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:1'));
    const heldDryRun = await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:2', { dryRun: true }));
    assert.equal(heldDryRun.allowed, false);
    assert.equal(asked.length, 1);
  });

  it("a kubelet's version report (nodes/status) is admitted and starts a run, but holds no one", async () => {
    const node = (version: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1', uid: 'uid-worker-1' }, status: { nodeInfo: { kubeletVersion: version } } });
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `uid-${++uids}`,
        kind: { group: '', version: 'v1', kind: 'Node' },
        resource: { group: '', version: 'v1', resource: 'nodes' },
        subResource: 'status',
        name: 'worker-1',
        operation: 'UPDATE',
        userInfo: { username: 'system:node:worker-1', groups: ['system:nodes', 'system:authenticated'] },
        object: node('v1.34.1'),
        oldObject: node('v1.33.5'),
        dryRun: false,
      },
    };
    const reported = await send('/validate', review);
    assert.equal(reported.allowed, true, JSON.stringify(reported));
    assert.deepEqual(asked, ['after the kubelet of Node worker-1 reporting v1.34.1 (was v1.33.5)']);
    const next = await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:1'));
    assert.equal(next.allowed, true, 'the kubelet holds nothing');
  });

  it('never holds an ordinary workload', async () => {
    await send('/validate/warn-only', deploymentReview('kube-system', 'registry.example/dns:1'));
    const ordinary = await send('/validate', deploymentReview('shop', 'registry.example/web:2'));
    assert.equal(ordinary.allowed, true, JSON.stringify(ordinary));
    assert.equal(asked.length, 1);
  });

  it('of 20 platform changes sent at once, one is admitted and starts one run; the others are refused', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send('/validate/warn-only', deploymentReview('kube-system', `registry.example/dns:${i + 1}`))));
    assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((answer) => answer.status?.message ?? 'allowed')));
    assert.equal(asked.length, 1);
    for (const refused of answers.filter((answer) => !answer.allowed)) {
      assert.match(refused.status?.message ?? '', /\[probe-on-change\] a probe run after|another platform change was admitted while it was being judged/);
    }
  });
});
