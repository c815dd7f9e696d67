import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCerts } from '../../../src/certs/generate.js';
import { buildConfig } from '../../../src/config.js';
import type { KubeApi } from '../../../src/probe/kube-api.js';
import { certificateExpiry } from '../../../src/probe/probes/certificate-expiry.js';
import { dns } from '../../../src/probe/probes/dns.js';
import { onDemandShare } from '../../../src/probe/probes/on-demand-share.js';
import { restartBurst } from '../../../src/probe/probes/restart-burst.js';
import { serviceEndpoints } from '../../../src/probe/probes/service-endpoints.js';
import { versionSkew } from '../../../src/probe/probes/version-skew.js';
import type { ProbeContext } from '../../../src/probe/types.js';

/**
 * The inspections' judgement on cluster states the local cluster cannot be put in (a
 * downgraded API server, mass restarts, an all-spot fleet). Their API calls against a real
 * API server are covered in test/e2e/probe-probes.test.ts.
 */

const now = new Date('2026-06-01T12:00:00Z');

function context(responses: Record<string, unknown>, probe: Record<string, unknown> = {}, extra: Partial<ProbeContext> = {}): ProbeContext {
  const answer = (path: string) => {
    if (!(path in responses)) throw new Error(`unexpected GET ${path}`);
    return responses[path];
  };
  const api = { get: async (path: string) => ({ status: 200, body: answer(path), text: '' }) } as unknown as KubeApi;
  return {
    api,
    config: buildConfig({ probe }),
    signal: new AbortController().signal,
    now: () => now,
    isLeader: true,
    inCluster: false,
    shared: async <T>(path: string) => answer(path) as T,
    ...extra,
  };
}

const node = (name: string, kubeletVersion: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, status: { nodeInfo: { kubeletVersion } } });
const NODES = '/api/v1/nodes?resourceVersion=0';

describe('probe inspections', () => {
  describe('version-skew', () => {
    it('is critical when the API server is older than a kubelet (the ride-hailing outage)', async () => {
      const outcome = await versionSkew.run(context({ '/version': { gitVersion: 'v1.33.5' }, [NODES]: { items: [node('a', 'v1.34.4'), node('b', 'v1.33.5')] } }));
      assert.equal(outcome.ok, false);
      assert.equal(outcome.severity, 'critical');
      assert.match(outcome.message, /API server v1\.33\.5 is older than the kubelets on 1 node\(s\): a \(v1\.34\.4\)/);
    });

    it('reports kubelets too far behind without making it critical', async () => {
      const outcome = await versionSkew.run(context({ '/version': { gitVersion: 'v1.34.4' }, [NODES]: { items: [node('old', 'v1.30.2'), node('b', 'v1.33.7')] } }));
      assert.equal(outcome.ok, false);
      assert.equal(outcome.severity, undefined);
      assert.match(outcome.message, /1 node\(s\) run kubelets more than 3 minors behind API server v1\.34\.4: old \(v1\.30\.2\)/);
    });

    it('passes the local cluster mix (one kubelet a minor behind) and does not judge an unversioned build', async () => {
      const healthy = await versionSkew.run(context({ '/version': { gitVersion: 'v1.34.4' }, [NODES]: { items: [node('a', 'v1.34.4'), node('b', 'v1.33.7')] } }));
      assert.equal(healthy.ok, true, healthy.message);
      const unversioned = await versionSkew.run(context({ '/version': { gitVersion: 'v0.0.0-master+$Format:%H$' }, [NODES]: { items: [node('a', 'v1.34.4')] } }));
      assert.equal(unversioned.ok, true);
      assert.match(unversioned.message, /not a release version/);
    });
  });

  describe('on-demand-share', () => {
    it('is below the minimum when most labelled nodes are spot, whatever the provider label', async () => {
      const nodes = [
        node('od', 'v1.34.4', { 'karpenter.sh/capacity-type': 'on-demand' }),
        node('s1', 'v1.34.4', { 'karpenter.sh/capacity-type': 'spot' }),
        node('s2', 'v1.34.4', { 'eks.amazonaws.com/capacityType': 'SPOT' }),
        node('s3', 'v1.34.4', { 'cloud.google.com/gke-spot': 'true' }),
        node('s4', 'v1.34.4', { 'kubernetes.azure.com/scalesetpriority': 'spot' }),
        node('s5', 'v1.34.4', { 'node.alibabacloud.com/spot-strategy': 'SpotAsPriceGo' }),
        node('unlabelled', 'v1.34.4'),
      ];
      const outcome = await onDemandShare.run(context({ [NODES]: { items: nodes } }));
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /^1 of 6 labelled nodes are on-demand \(17%\), below the 20% minimum$/);
    });

    it("passes the local cluster's five on-demand and four spot nodes, and says so when no node is labelled", async () => {
      const nodes = [...Array(5).keys()].map((i) => node(`od${i}`, 'v1', { 'karpenter.sh/capacity-type': 'on-demand' }))
        .concat([...Array(4).keys()].map((i) => node(`s${i}`, 'v1', { 'karpenter.sh/capacity-type': 'spot' })));
      assert.equal((await onDemandShare.run(context({ [NODES]: { items: nodes } }))).ok, true);
      const bare = await onDemandShare.run(context({ [NODES]: { items: [node('a', 'v1')] } }));
      assert.equal(bare.ok, true);
      assert.match(bare.message, /not judged/);
    });
  });

  describe('restart-burst', () => {
    const pod = (name: string, nodeName: string, finishedAt: string) => ({
      metadata: { namespace: 'shop', name },
      spec: { nodeName },
      status: { containerStatuses: [{ name: 'app', lastState: { terminated: { finishedAt } } }] },
    });
    const recent = new Date(now.getTime() - 60_000).toISOString();
    const old = new Date(now.getTime() - 3_600_000).toISOString();
    const PODS = '/api/v1/pods?resourceVersion=0';

    it('fails on many recent restarts spread over several nodes', async () => {
      const pods = [...Array(12).keys()].map((i) => pod(`p${i}`, `node-${i % 4}`, recent));
      const outcome = await restartBurst.run(context({ [PODS]: { items: pods } }));
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /^12 container restart\(s\) on 4 node\(s\) in the last 600 s/);
    });

    it('passes restarts on one node, and restarts outside the window', async () => {
      const oneNode = [...Array(12).keys()].map((i) => pod(`p${i}`, 'node-1', recent));
      assert.equal((await restartBurst.run(context({ [PODS]: { items: oneNode } }))).ok, true);
      const longAgo = [...Array(12).keys()].map((i) => pod(`p${i}`, `node-${i % 4}`, old));
      const outcome = await restartBurst.run(context({ [PODS]: { items: longAgo } }));
      assert.equal(outcome.ok, true);
      assert.match(outcome.message, /^0 container restart/);
    });
  });

  describe('service-endpoints', () => {
    const SERVICES = '/api/v1/services?resourceVersion=0';
    const SLICES = '/apis/discovery.k8s.io/v1/endpointslices?resourceVersion=0';
    const service = (name: string, created: string, selector: Record<string, string> | null = { app: name }, type = 'ClusterIP') => ({
      metadata: { namespace: 'shop', name, creationTimestamp: created },
      spec: { selector, type },
    });
    const slice = (serviceName: string, ready: boolean | null) => ({
      metadata: { namespace: 'shop', labels: { 'kubernetes.io/service-name': serviceName } },
      endpoints: [{ conditions: ready === null ? {} : { ready } }],
    });
    const old = new Date(now.getTime() - 3_600_000).toISOString();
    const young = new Date(now.getTime() - 10_000).toISOString();

    it('names Services with a selector and no ready endpoint, and leaves out young, selectorless and ExternalName ones', async () => {
      const outcome = await serviceEndpoints.run(context({
        [SERVICES]: { items: [service('ledger', old), service('web', old), service('fresh', young), service('manual', old, null), service('ext', old, { a: 'b' }, 'ExternalName'), service('nil-ready', old)] },
        [SLICES]: { items: [slice('web', true), slice('ledger', false), slice('nil-ready', null)] },
      }));
      assert.equal(outcome.ok, false);
      assert.equal(outcome.message, '1 of 3 Services with a selector have no ready endpoint: shop/ledger');
    });
  });

  describe('certificate-expiry', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'levee-cert-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('fails a certificate that expires within the minimum and passes a fresh one', async () => {
      const realNow = () => new Date();
      const short = await generateCerts({ dnsNames: ['localhost'], ipAddresses: [], validDays: 5 });
      writeFileSync(join(dir, 'short.crt'), short.serverCert);
      const failing = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'short.crt') }, { now: realNow }));
      assert.equal(failing.ok, false);
      assert.match(failing.message, /expires in [45] days .* under the 14-day minimum/);
      const long = await generateCerts({ dnsNames: ['localhost'], ipAddresses: [], validDays: 365 });
      writeFileSync(join(dir, 'long.crt'), long.serverCert);
      const passing = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'long.crt') }, { now: realNow }));
      assert.equal(passing.ok, true, passing.message);
    });

    it('skips a missing file and fails one that is not a certificate', async () => {
      const missing = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'absent.crt') }));
      assert.equal(missing.skipped, true);
      writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
      const junk = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'junk.crt') }));
      assert.equal(junk.ok, false);
      assert.match(junk.message, /not a PEM certificate/);
    });
  });

  describe('dns', () => {
    it('is skipped outside a pod, where no cluster DNS answers', async () => {
      const outcome = await dns.run(context({}));
      assert.equal(outcome.skipped, true);
      assert.match(outcome.message, /kubernetes\.default is resolved only in-cluster/);
    });

    it('resolves the configured name in a pod, and fails a name that does not resolve', async () => {
      const resolved = await dns.run(context({}, { dnsName: 'localhost' }, { inCluster: true }));
      assert.equal(resolved.ok, true, resolved.message);
      const unresolved = await dns.run(context({}, { dnsName: 'no-such-name.invalid' }, { inCluster: true }));
      assert.equal(unresolved.ok, false);
      assert.match(unresolved.message, /resolving no-such-name\.invalid failed/);
    });
  });
});
