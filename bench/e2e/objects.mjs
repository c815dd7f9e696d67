// What the end-to-end bench creates in the local cluster: the writers' objects, kwok Nodes to
// cordon, the workloads the correctness check scales, and the filler Services and Pods that
// every target caches (1k, then 50k).
import { MANAGED_ANNOTATION, MANAGED_VALUE } from '../../scripts/cluster/nodes.mjs';
import { configMapManifest, deploymentManifest, LABEL, serviceManifest } from './mix.mjs';
import { inParallel, waitFor } from './kube.mjs';

export const FILL_NAMESPACES = 20;

async function create(api, path, object) {
  const answer = await api.request('POST', path, object);
  if (answer.status !== 201 && answer.status !== 409) throw new Error(`POST ${path} ${object.metadata?.name}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
}

const namespaceObject = (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABEL]: 'true' } } });

/** On-demand Nodes that kwok keeps Ready and untainted, so a cordon goes through spot-capacity's whole check. */
export function benchNode(name) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [MANAGED_ANNOTATION]: MANAGED_VALUE, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        [LABEL]: 'true',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'karpenter.sh/capacity-type': 'on-demand',
        'karpenter.sh/nodepool': 'bench',
        'type': 'kwok',
      },
    },
    spec: {},
    status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' }, capacity: { cpu: '4', memory: '16Gi', pods: '110' }, nodeInfo: { kubeletVersion: 'v1.34.4' } },
  };
}

function workload(namespace, name, labels, replicas) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { [LABEL]: 'true' } },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/shop/checkout:4.12.0' }] } },
    },
  };
}

const service = (namespace, name, selector) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels: { [LABEL]: 'true' } }, spec: { selector, ports: [{ port: 80, targetPort: 8080 }] } });

/**
 * The bench namespace: per writer a paused Deployment, a Service selecting its pods and a
 * ConfigMap; `nodes` kwok Nodes; and for the correctness check, Deployment `checkout` (the only
 * backend of Service `checkout`) and Deployments `shared-a` and `shared-b` (both behind Service `shared`).
 */
export async function createBenchObjects(api, { namespace, writers, nodes }) {
  await create(api, '/api/v1/namespaces', namespaceObject(namespace));
  await inParallel(nodes, 8, (i) => create(api, '/api/v1/nodes', benchNode(`bench-node-${i}`)));
  await inParallel(writers, 8, async (w) => {
    await create(api, `/apis/apps/v1/namespaces/${namespace}/deployments`, deploymentManifest(namespace, `writer-${w}`));
    await create(api, `/api/v1/namespaces/${namespace}/services`, serviceManifest(namespace, `writer-${w}`));
    await create(api, `/api/v1/namespaces/${namespace}/configmaps`, configMapManifest(namespace, `writer-${w}`));
  });
  await create(api, `/apis/apps/v1/namespaces/${namespace}/deployments`, workload(namespace, 'checkout', { app: 'checkout' }, 2));
  await create(api, `/api/v1/namespaces/${namespace}/services`, service(namespace, 'checkout', { app: 'checkout' }));
  for (const track of ['a', 'b']) {
    await create(api, `/apis/apps/v1/namespaces/${namespace}/deployments`, workload(namespace, `shared-${track}`, { app: 'shared', track }, 1));
  }
  await create(api, `/api/v1/namespaces/${namespace}/services`, service(namespace, 'shared', { app: 'shared' }));
  const readyEndpoints = async (name) => {
    const answer = await api.request('GET', `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${name}`);
    return (answer.body?.items ?? []).flatMap((slice) => slice.endpoints ?? []).filter((endpoint) => endpoint.conditions?.ready !== false).length;
  };
  await waitFor('2 ready endpoints behind Services checkout and shared', async () => (await readyEndpoints('checkout')) === 2 && (await readyEndpoints('shared')) === 2, 180_000);
  await waitFor(`${nodes} bench nodes Ready`, async () => {
    const answer = await api.request('GET', `/api/v1/nodes?labelSelector=${encodeURIComponent(`${LABEL}=true`)}`);
    const ready = (answer.body?.items ?? []).filter((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === nodes || `${ready.length} Ready`;
  }, 120_000);
}

/** Namespaces the filler Services and Pods spread over. */
export const fillNamespaces = (prefix) => Array.from({ length: FILL_NAMESPACES }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

/**
 * Filler objects from index `from` (inclusive) to `to` (exclusive): per index a headless
 * Service and a Pod it selects, spread over the fill namespaces. The Pods name a scheduler
 * that does not exist, so nothing schedules or runs them; the EndpointSlice controller still
 * gives every Service its slice. Created with no webhook registered. Service and Pod have
 * different names: Gatekeeper counts synced objects (gatekeeper_sync) by namespace/name
 * alone, so same-named objects of two kinds would count once.
 */
export async function createFiller(api, { prefix, from, to, parallel = 32 }) {
  const namespaces = fillNamespaces(prefix);
  if (from === 0) {
    for (const name of namespaces) await create(api, '/api/v1/namespaces', namespaceObject(name));
    // A Pod needs its namespace's default ServiceAccount, which a controller creates shortly after the namespace.
    await waitFor('the fill namespaces\' default ServiceAccounts', async () => {
      const answers = await Promise.all(namespaces.map((name) => api.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)));
      const missing = answers.filter((answer) => answer.status !== 200).length;
      return missing === 0 || `${missing} missing`;
    }, 120_000);
  }
  await inParallel(to - from, parallel, async (k) => {
    const i = from + k;
    const namespace = namespaces[i % namespaces.length];
    const name = `fill-${i}`;
    const labels = { app: name, 'app.kubernetes.io/part-of': namespace };
    await create(api, `/api/v1/namespaces/${namespace}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { clusterIP: 'None', selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await create(api, `/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${name}-pod`, namespace, labels },
      spec: { schedulerName: 'bench-unscheduled', containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    });
  });
}
