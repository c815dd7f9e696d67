// The writes the end-to-end bench sends kube-apiserver, shaped as kubectl sends them, and the
// objects they write. Each writer has its own Deployment (with a Service selecting its pods),
// ConfigMap and Node, so writers never contend for one object, and every write changes it.
//
//   apply      kubectl apply of a Deployment whose image changed: a strategic merge patch
//              carrying the whole last-applied-configuration (stored with managedFields)
//   scale      kubectl scale: a merge patch of deployments/scale, 1 <-> 2 replicas
//   cordon     kubectl cordon / uncordon: spec.unschedulable on the writer's Node
//   annotate   kubectl annotate: an annotation no policy reads
//   configmap  a ConfigMap write: no webhook rule of any target matches ConfigMaps
//
// The Deployments are paused: a paused Deployment gets no ReplicaSet, so an apply or a scale
// writes the Deployment and nothing else, and the bench measures the writes it sends, not a
// rollout's controllers.

export const MIX = ['apply', 'scale', 'cordon', 'annotate', 'configmap'];

export const LABEL = 'bench.levee.dev/writer';
const IMAGES = ['registry.example/shop/checkout:4.12.0', 'registry.example/shop/checkout:4.12.1'];

/** Names of writer w's objects. */
export function writerObjects(namespace, w, nodes) {
  return { namespace, deployment: `writer-${w}`, configMap: `writer-${w}`, node: `bench-node-${w % nodes}` };
}

function podTemplate(name, image) {
  const labels = { app: name, [LABEL]: 'true' };
  return {
    metadata: { labels },
    spec: {
      containers: [
        {
          name: 'app',
          image,
          ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }],
          env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'DB_HOST', value: 'postgres.shop.svc' }],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
        },
      ],
    },
  };
}

/** The Deployment as a user's manifest says it (what kubectl keeps as last-applied-configuration). */
export function deploymentManifest(namespace, name, image = IMAGES[0]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name, [LABEL]: 'true' } },
    spec: {
      replicas: 1,
      paused: true,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: podTemplate(name, image),
    },
  };
}

export function serviceManifest(namespace, name) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { [LABEL]: 'true' } },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

export function configMapManifest(namespace, name) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { [LABEL]: 'true' } }, data: { value: '0' } };
}

const json = (value) => JSON.stringify(value);

/**
 * The HTTP request for one write of `kind` by a writer with `objects`: `pass` (how many times the
 * writer has gone through the mix) flips the image, the replicas and the cordon, and `seq`, unique
 * to each write, is the annotation's and the ConfigMap's new value.
 */
export function mixRequest(kind, objects, pass, seq = pass) {
  const { namespace, deployment, configMap, node } = objects;
  const deployments = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  switch (kind) {
    case 'apply': {
      const manifest = deploymentManifest(namespace, deployment, IMAGES[pass % 2]);
      const lastApplied = `${json(manifest)}\n`;
      return {
        method: 'PATCH',
        path: `${deployments}/${deployment}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`,
        contentType: 'application/strategic-merge-patch+json',
        body: json({
          metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
          spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'app' }], containers: [{ name: 'app', image: IMAGES[pass % 2] }] } } },
        }),
      };
    }
    case 'scale':
      return {
        method: 'PATCH',
        path: `${deployments}/${deployment}/scale?fieldManager=kubectl-scale`,
        contentType: 'application/merge-patch+json',
        body: json({ spec: { replicas: 1 + (pass % 2) } }),
      };
    case 'cordon':
      return {
        method: 'PATCH',
        path: `/api/v1/nodes/${node}?fieldManager=kubectl-cordon`,
        contentType: 'application/strategic-merge-patch+json',
        body: json({ spec: { unschedulable: pass % 2 === 1 ? true : null } }),
      };
    case 'annotate':
      return {
        method: 'PATCH',
        path: `${deployments}/${deployment}?fieldManager=kubectl-annotate`,
        contentType: 'application/merge-patch+json',
        body: json({ metadata: { annotations: { 'team.example.com/last-deploy-check': String(seq) } } }),
      };
    case 'configmap':
      return {
        method: 'PATCH',
        path: `/api/v1/namespaces/${namespace}/configmaps/${configMap}?fieldManager=bench`,
        contentType: 'application/merge-patch+json',
        body: json({ data: { value: String(seq) } }),
      };
    default:
      throw new Error(`unknown write ${kind}`);
  }
}
