// What `up` puts into (or clears from) the API server itself: stale leader Leases, the
// developer's RoleBinding, the fake nodes; and the check that the API server reports a
// release version.
import { ClusterError } from './report.mjs';

const DEVELOPER_BINDING = 'levee-developers-edit';

// `name` is not running, so whoever holds its leader Lease is gone; a new instance would
// wait out the rest of that Lease (up to 15 s) before working. Delete it instead, unless it
// changes in the meantime (the precondition), which would mean a live holder after all.
export async function dropStaleLeaderLease(api, name, log) {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`;
  const lease = await api.get(path);
  const holder = lease.body?.spec?.holderIdentity;
  if (lease.status !== 200 || !holder) return;
  const res = await api.request('DELETE', path, {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    preconditions: { resourceVersion: lease.body.metadata.resourceVersion },
  });
  if (res.status === 200) log(`removed the leader Lease kube-system/${name} left by ${holder}`);
}

// Version-skew checks compare kubelet versions against the API server's gitVersion, which
// is only meaningful when the binary was built with Kubernetes' version ldflags.
export async function checkServerVersion(api, log) {
  const res = await api.get('/version');
  const gitVersion = res.body?.gitVersion ?? '';
  if (res.status === 200 && !/^v[1-9]\d*\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(gitVersion)) {
    log(
      `warning: kube-apiserver reports gitVersion ${JSON.stringify(gitVersion)}, not a release version; ` +
        'build tools/kube with -X k8s.io/component-base/version.gitVersion=... (and gitMajor, gitMinor)',
    );
  }
}

export async function ensureDeveloperBinding(api, log) {
  const path = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: DEVELOPER_BINDING, labels: { 'app.kubernetes.io/managed-by': 'levee-cluster' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
  };
  const existing = await api.get(`${path}/${DEVELOPER_BINDING}`);
  if (existing.status === 200) {
    const key = (subjects) => (subjects ?? []).map((x) => `${x.kind}/${x.apiGroup ?? ''}/${x.name}`).sort().join(',');
    const same = key(existing.body.subjects) === key(binding.subjects);
    if (same && existing.body.roleRef?.name === 'edit') return;
    if (existing.body.roleRef?.name === 'edit') {
      const res = await api.put(`${path}/${DEVELOPER_BINDING}`, {
        ...binding,
        metadata: { ...binding.metadata, resourceVersion: existing.body.metadata.resourceVersion },
      });
      if (res.status !== 200) throw new ClusterError('kube-apiserver', `updating ClusterRoleBinding ${DEVELOPER_BINDING}: HTTP ${res.status} ${res.text}`);
      log(`updated ClusterRoleBinding ${DEVELOPER_BINDING}`);
      return;
    }
    // roleRef is immutable: replace the binding.
    await api.request('DELETE', `${path}/${DEVELOPER_BINDING}`);
  } else if (existing.status !== 404) {
    throw new ClusterError('kube-apiserver', `reading ClusterRoleBinding ${DEVELOPER_BINDING}: HTTP ${existing.status} ${existing.text}`);
  }
  const res = await api.post(path, binding);
  if (res.status !== 201 && res.status !== 409) {
    throw new ClusterError('kube-apiserver', `creating ClusterRoleBinding ${DEVELOPER_BINDING}: HTTP ${res.status} ${res.text}`);
  }
  log(`created ClusterRoleBinding ${DEVELOPER_BINDING} (group developers -> ClusterRole edit)`);
}

export async function ensureNodes(api, manifests, log) {
  const list = await api.get('/api/v1/nodes');
  if (list.status !== 200) throw new ClusterError('kube-apiserver', `listing nodes: HTTP ${list.status} ${list.text}`);
  const existing = new Set(list.body.items.map((n) => n.metadata.name));
  const missing = manifests.filter((m) => !existing.has(m.metadata.name));
  if (missing.length === 0) return;
  log(`creating ${missing.length} nodes: ${missing.map((m) => m.metadata.name).join(', ')}`);
  await Promise.all(
    missing.map(async (manifest) => {
      const res = await api.post('/api/v1/nodes', manifest);
      if (res.status !== 201 && res.status !== 409) {
        throw new ClusterError('kube-apiserver', `creating node ${manifest.metadata.name}: HTTP ${res.status} ${res.text}`);
      }
    }),
  );
}

// The cluster DNS every real cluster has (CoreDNS behind the Service kube-system/kube-dns),
// so that levee's critical dns probe has something to check here. kwok's nodes run no
// containers: the pods become Ready with an IP and the EndpointSlice controller lists them,
// but nothing answers a query, and the host cannot reach the Service's address anyway. The
// probe says so in its message (README, "What is probed").
export const CLUSTER_DNS_IP = '10.96.0.10';
const DNS_LABELS = { 'k8s-app': 'kube-dns' };

export async function ensureClusterDns(api, log) {
  const objects = [
    {
      path: '/apis/apps/v1/namespaces/kube-system/deployments',
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: 'kube-system', labels: DNS_LABELS },
        spec: {
          replicas: 2,
          selector: { matchLabels: DNS_LABELS },
          template: {
            metadata: { labels: DNS_LABELS },
            spec: {
              priorityClassName: 'system-cluster-critical',
              containers: [{
                name: 'coredns',
                image: 'registry.k8s.io/coredns/coredns:v1.12.1',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
                resources: { requests: { cpu: '100m', memory: '70Mi' } },
              }],
            },
          },
        },
      },
    },
    {
      path: '/api/v1/namespaces/kube-system/services',
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels: DNS_LABELS },
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          selector: DNS_LABELS,
          ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }],
        },
      },
    },
  ];
  for (const { path, body } of objects) {
    const existing = await api.get(`${path}/${body.metadata.name}`);
    if (existing.status === 200) continue;
    const res = await api.post(path, body);
    if (res.status !== 201 && res.status !== 409) {
      throw new ClusterError('kube-apiserver', `creating ${body.kind} kube-system/${body.metadata.name}: HTTP ${res.status} ${res.text}`);
    }
    log(`created ${body.kind} kube-system/${body.metadata.name}`);
  }
}

// Ready endpoints of kube-system/kube-dns: what the dns probe checks from a host.
export async function dnsReadyEndpoints(api) {
  const res = await api.get('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns');
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return (res.body.items ?? []).flatMap((slice) => slice.endpoints ?? []).filter((endpoint) => endpoint.conditions?.ready !== false).length;
}
