import assert from 'node:assert/strict';
import { buildConfig } from '../../../../src/config.js';
import type { KubeApi } from '../../../../src/probe/kube-api.js';
import { forgetHostQueries } from '../../../../src/probe/probes/dns-from-host.js';
import { dns } from '../../../../src/probe/probes/dns.js';
import type { ProbeContext } from '../../../../src/probe/types.js';
import { startDnsServer, type TestDnsServer } from '../../../support/dns-server.js';
import { filledCache } from '../../../support/probe-context.js';

const SERVICE = '/api/v1/namespaces/kube-system/services/kube-dns';
const KUBERNETES = '/api/v1/namespaces/default/services/kubernetes';

function dnsService(clusterIP: string, port: number, name = 'kube-dns', namespace = 'kube-system') {
  return {
    metadata: { name, namespace, creationTimestamp: '2026-06-01T09:00:00Z' },
    spec: { clusterIP, selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port, protocol: 'UDP' }, { name: 'dns-tcp', port, protocol: 'TCP' }] },
  };
}

function slice(...ready: Array<boolean | null>) {
  return {
    metadata: { name: 'kube-dns-abcde', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns' } },
    endpoints: ready.map((value, index) => ({ addresses: [`10.244.0.${index + 10}`], conditions: { ready: value } })),
  };
}

interface Cluster {
  /** What the watches hold. */
  services?: unknown[];
  endpointslices?: unknown[];
  /** GET answers by path (status 200 unless given). */
  gets?: Record<string, unknown>;
}

/** A host-side context: a filled watch cache, canned GETs, and the GETs it was asked. */
function onHost(cluster: Cluster, probe: Record<string, unknown> = {}, apiServer = 'https://a.cluster.invalid:6443'): { context: ProbeContext; gets: string[] } {
  const gets: string[] = [];
  const answers = cluster.gets ?? {};
  const api = {
    server: new URL(apiServer),
    get: async (path: string) => {
      gets.push(path);
      if (!(path in answers)) throw new Error(`unexpected GET ${path}`);
      const answer = answers[path] as { status?: number; body?: unknown };
      return typeof answer === 'object' && answer !== null && 'status' in answer ? { status: answer.status, body: answer.body, text: '' } : { status: 200, body: answer, text: '' };
    },
  } as unknown as KubeApi;
  const config = buildConfig({ probe: { ...probe, dns: { hostQueryTimeoutMs: 300, hostRetrySeconds: 0, ...(probe.dns as object) } } });
  const cache = filledCache({ services: cluster.services ?? [], endpointslices: cluster.endpointslices ?? [] });
  return { context: { api, config, signal: new AbortController().signal, now: () => new Date(), isLeader: true, inCluster: false, cache }, gets };
}

/** The local DNS Service pointing at the test's DNS server, with these endpoints. */
function cluster(port: number, ready: Array<boolean | null>, extra: Record<string, unknown> = {}): Cluster {
  const service = dnsService('127.0.0.1', port);
  return { services: [service], endpointslices: [slice(...ready)], gets: { [SERVICE]: service, ...extra } };
}

describe('probe/probes/dns on a host', () => {
  let server: TestDnsServer;

  beforeEach(async () => {
    forgetHostQueries();
    server = await startDnsServer({ 'kubernetes.default.svc.cluster.local': '10.96.0.1' });
  });

  afterEach(() => server.close());

  it('resolves kubernetes.default.svc.cluster.local through the DNS Service address when the host reaches it', async () => {
    const { context, gets } = onHost(cluster(server.port, [true], { [KUBERNETES]: { spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'] } } }));
    const outcome = await dns.run(context);
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.skipped, undefined);
    assert.match(outcome.message, new RegExp(`^kubernetes\\.default\\.svc\\.cluster\\.local resolved to 10\\.96\\.0\\.1 through the cluster DNS Service kube-system/kube-dns \\(127\\.0\\.0\\.1:${server.port}\\), asked from this host in \\d+ ms, the Service's own address$`));
    assert.deepEqual(server.queries, ['kubernetes.default.svc.cluster.local']);
    assert.deepEqual(gets, [SERVICE, KUBERNETES], 'the endpoints need no check once DNS has answered with the Service\'s address');
  });

  it('does not take the answer of a server that is not this cluster\'s (another address for kubernetes.default): it checks the endpoints instead, and says why', async () => {
    const { context } = onHost(cluster(server.port, [true], { [KUBERNETES]: { spec: { clusterIP: '10.100.0.1' } } }));
    const outcome = await dns.run(context);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, new RegExp(`^kube-system/kube-dns \\(127\\.0\\.0\\.1\\) has 1 ready endpoint; checked from this host: the Service and its EndpointSlices, not a DNS answer \\(127\\.0\\.0\\.1:${server.port} answered from this host, but kubernetes\\.default\\.svc\\.cluster\\.local resolved to 10\\.96\\.0\\.1, not this cluster's 10\\.100\\.0\\.1`));
  });

  it('sends no query and reads no Service when queryFromHost is false: the Service and its endpoints are checked, and the message says so', async () => {
    const { context, gets } = onHost(cluster(server.port, [true, true]), { dns: { queryFromHost: false } });
    const outcome = await dns.run(context);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /has 2 ready endpoints; checked from this host: the Service and its EndpointSlices, not a DNS answer \(probe\.dns\.queryFromHost is false: no query is sent from this host\)$/);
    assert.deepEqual(server.queries, []);
    assert.deepEqual(gets, []);
  });

  it('fails when the cluster DNS (it serves the cluster\'s zone) answers that the name does not exist', async () => {
    const zoned = await startDnsServer({}, 'corp.internal');
    try {
      const { context } = onHost(cluster(zoned.port, [true]), { dnsName: 'nothing.here', dns: { clusterDomain: 'corp.internal' } });
      const outcome = await dns.run(context);
      assert.equal(outcome.ok, false);
      assert.equal(outcome.message, `the cluster DNS Service kube-system/kube-dns (127.0.0.1:${zoned.port}) answered nothing.here.svc.corp.internal with ENOTFOUND`);
      assert.deepEqual(zoned.queries, ['nothing.here.svc.corp.internal', 'corp.internal']);
    } finally {
      await zoned.close();
    }
  });

  it('does not take a "no such name" from a server without the cluster\'s zone (the host network\'s resolver catching port 53): it checks the endpoints instead', async () => {
    const foreign = await startDnsServer({});
    try {
      const { context } = onHost(cluster(foreign.port, [true, true]));
      const outcome = await dns.run(context);
      assert.equal(outcome.ok, true, outcome.message);
      assert.match(outcome.message, new RegExp(`has 2 ready endpoints; .*not a DNS answer \\(127\\.0\\.0\\.1:${foreign.port} answered kubernetes\\.default\\.svc\\.cluster\\.local from this host with ENOTFOUND, and has no SOA for cluster\\.local: not a cluster DNS, another network's server at that address\\)$`));
    } finally {
      await foreign.close();
    }
  });

  it('checks the Service and its ready endpoints when the address does not answer, says what was not checked, and asks again only after hostRetrySeconds', async () => {
    server.silent = true;
    const answers = cluster(server.port, [true, null, false], { [KUBERNETES]: { spec: { clusterIP: '10.96.0.1' } } });
    const first = onHost(answers, { dns: { hostRetrySeconds: 3600 } });
    const outcome = await dns.run(first.context);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, new RegExp(
      `^kube-system/kube-dns \\(127\\.0\\.0\\.1\\) has 2 ready endpoints; checked from this host: the Service and its EndpointSlices, not a DNS answer \\(127\\.0\\.0\\.1:${server.port} did not answer from this host within 300 ms: the service network is not reachable from here\\)$`,
    ));
    assert.equal(server.queries.length, 1);
    const second = onHost(answers, { dns: { hostRetrySeconds: 3600 } });
    const again = await dns.run(second.context);
    assert.equal(again.ok, true);
    assert.deepEqual(second.gets, [], 'neither the Service read nor a query within hostRetrySeconds: the cache tells the rest');
    assert.match(again.message, /^kube-system\/kube-dns has 2 ready endpoints; .*did not answer from this host within 300 ms: the service network is not reachable from here; so found at .*, asked again 3600 s after that\)$/);
    assert.equal(server.queries.length, 1, 'no second query within hostRetrySeconds');
    server.silent = false;
    const third = await dns.run(onHost(answers, { dns: { hostRetrySeconds: 0 } }).context);
    assert.match(third.message, /resolved to 10\.96\.0\.1 through the cluster DNS Service/);
  });

  it('remembers an unanswered query per cluster: a fleet member\'s memory does not stand for another\'s', async () => {
    server.silent = true;
    const answers = cluster(server.port, [true], { [KUBERNETES]: { spec: { clusterIP: '10.96.0.1' } } });
    await dns.run(onHost(answers, { dns: { hostRetrySeconds: 3600 } }, 'https://a.cluster.invalid:6443').context);
    assert.equal(server.queries.length, 1);
    server.silent = false;
    const other = await dns.run(onHost(answers, { dns: { hostRetrySeconds: 3600 } }, 'https://b.cluster.invalid:6443').context);
    assert.equal(server.queries.length, 2, 'the other cluster asks its own DNS');
    assert.match(other.message, /resolved to 10\.96\.0\.1 through the cluster DNS Service/);
  });

  it('fails when the DNS Service has no ready endpoint, or does not exist', async () => {
    server.silent = true;
    const empty = await dns.run(onHost(cluster(server.port, [false])).context);
    assert.equal(empty.ok, false);
    assert.equal(empty.stage, 'endpoints');
    assert.match(empty.message, /^kube-system\/kube-dns \(127\.0\.0\.1\) has no ready endpoint \(1 EndpointSlices\): in-cluster DNS has nobody to answer it; checked from this host/);
    const missing = await dns.run(onHost({}).context);
    assert.equal(missing.ok, false);
    assert.match(missing.message, /^the cluster DNS Service kube-system\/kube-dns does not exist/);
  });

  it('checks the endpoints of a headless DNS Service, which has no address to ask', async () => {
    const headless = { ...dnsService('None', 53), spec: { clusterIP: 'None', selector: { 'k8s-app': 'kube-dns' }, ports: [{ port: 53, protocol: 'UDP' }] } };
    const outcome = await dns.run(onHost({ services: [headless], endpointslices: [slice(true)], gets: { [SERVICE]: headless } }).context);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^kube-system\/kube-dns has 1 ready endpoint; checked from this host: the Service and its EndpointSlices, not a DNS answer \(kube-system\/kube-dns has no cluster IP and UDP port to ask from this host\)$/);
  });

  it('follows probe.dns.service', async () => {
    const elsewhere = dnsService('127.0.0.1', server.port, 'coredns', 'dns-system');
    const outcome = await dns.run(onHost({ services: [elsewhere], gets: { '/api/v1/namespaces/dns-system/services/coredns': elsewhere, [KUBERNETES]: { spec: { clusterIP: '10.96.0.1' } } } }, { dns: { service: 'dns-system/coredns' } }).context);
    assert.match(outcome.message, /through the cluster DNS Service dns-system\/coredns/);
    const missing = await dns.run(onHost({ services: [dnsService('127.0.0.1', server.port)] }, { dns: { service: 'dns-system/coredns' } }).context);
    assert.match(missing.message, /^the cluster DNS Service dns-system\/coredns does not exist/);
  });
});
