// A synthetic cluster: `services` Services, each selecting one Deployment -> ReplicaSet -> Pod
// chain with a ready EndpointSlice endpoint (so `services` Pods too), spread over 20
// namespaces, plus `nodes` Nodes (a third of them spot). Every Service in a namespace shares one
// selector label (app.kubernetes.io/part-of), as Helm charts' instance labels do, so a lookup
// that scans a label's bucket would show here. `syntheticObjects` gives the objects (the probe
// bench serves them from a fake API server); `syntheticCluster` fills a ClusterState the way
// levee's informers fill it (through the same projections in src/cluster/views.ts), without a cluster.
import { NAMESPACE, SERVICE_SELECTOR, WORKLOAD, WORKLOAD_LABELS, WORKLOAD_PODS, nodeObject, CORDONED_NODE } from './fixtures.mjs';

const NAMESPACES = 20;
const dist = new URL('../dist/src/', import.meta.url);

export function syntheticObjects({ services, nodes }) {
  const objects = { deployments: [], replicaSets: [], pods: [], services: [], endpointSlices: [], nodes: [] };
  const addApp = (namespace, name, labels, selector, pods) => {
    objects.deployments.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, uid: `uid-${namespace}-${name}`, labels: selector },
      spec: { replicas: pods, selector: { matchLabels: selector }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: `registry.example/${name}:1.0` }] } } },
    });
    const rs = `${name}-7d9f8c6b5`;
    objects.replicaSets.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rs, namespace, uid: `uid-${namespace}-${rs}`, labels: { ...labels, 'pod-template-hash': '7d9f8c6b5' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `uid-${namespace}-${name}`, controller: true, blockOwnerDeletion: true }],
      },
      spec: { replicas: pods, selector: { matchLabels: selector }, template: { metadata: { labels: { ...labels, 'pod-template-hash': '7d9f8c6b5' } } } },
    });
    const podNames = [];
    for (let i = 0; i < pods; i++) {
      const pod = `${rs}-${String(i).padStart(5, 'x')}`;
      podNames.push(pod);
      objects.pods.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: pod, namespace, labels: { ...labels, 'pod-template-hash': '7d9f8c6b5' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `uid-${namespace}-${rs}`, controller: true }] },
      });
    }
    objects.services.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports: [{ port: 80, targetPort: 8080 }] } });
    objects.endpointSlices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-x7k2p`, namespace, labels: { 'kubernetes.io/service-name': name } },
      endpoints: podNames.map((pod, i) => ({ addresses: [`10.${i % 250}.0.1`], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod, namespace } })),
    });
  };

  addApp(NAMESPACE, WORKLOAD, WORKLOAD_LABELS, SERVICE_SELECTOR, WORKLOAD_PODS);
  for (let i = 1; i < services; i++) {
    const namespace = `team-${String(i % NAMESPACES).padStart(2, '0')}`;
    const name = `svc-${i}`;
    const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': namespace };
    addApp(namespace, name, { ...selector, 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/version': '1.0.0' }, selector, 1);
  }
  for (let i = 0; i < nodes; i++) {
    const name = i === 42 ? CORDONED_NODE : `node-${String(i).padStart(5, '0')}`;
    objects.nodes.push(nodeObject(name, { spot: i % 3 === 2, kubelet: i % 10 === 0 ? 'v1.33.7' : 'v1.34.4' }));
  }
  return objects;
}

export async function syntheticCluster({ services, nodes, config }) {
  const { ClusterState } = await import(new URL('cluster/state.js', dist).href);
  const { clusterOptionsFrom } = await import(new URL('cluster/options.js', dist).href);
  const views = await import(new URL('cluster/views.js', dist).href);
  const { workloadKey } = await import(new URL('kube/workload.js', dist).href);
  const cluster = new ClusterState(clusterOptionsFrom(config));
  const objects = syntheticObjects({ services, nodes });
  const key = (object) => `${object.metadata.namespace}/${object.metadata.name}`;

  for (const deployment of objects.deployments) {
    const workload = views.toWorkloadView(deployment);
    cluster.workloads.upsert(workloadKey(workload.ref), workload);
  }
  for (const rs of objects.replicaSets) {
    cluster.replicaSets.upsert(key(rs), views.toReplicaSetView(rs));
    const rsWorkload = views.toWorkloadView(rs);
    if (rsWorkload) cluster.workloads.upsert(workloadKey(rsWorkload.ref), rsWorkload);
  }
  for (const pod of objects.pods) cluster.pods.upsert(key(pod), views.toPodView(pod));
  for (const service of objects.services) cluster.services.upsert(key(service), views.toServiceView(service));
  for (const slice of objects.endpointSlices) cluster.endpointSlices.upsert(key(slice), views.toEndpointSliceView(slice));
  for (const node of objects.nodes) {
    const [nodeKey, view] = cluster.nodes.project(node);
    cluster.nodes.upsert(nodeKey, view);
  }
  for (const store of cluster.allStores()) store.markSynced();
  return cluster;
}
