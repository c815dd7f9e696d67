// Real AdmissionReviews of every kind levee's webhooks send it (manifests/components/webhooks),
// shaped as kube-apiserver v1.34 sends them, on the route each is registered for: the seeds the
// fuzzer mutates. Workloads, their scale subresource, Pods, Jobs and CronJobs, autoscalers,
// Nodes and their status, Karpenter NodePools, Cluster API objects, and kube-system add-ons on
// the warn-only route.
import { deploymentUpdate, NAMESPACE, nodeCordon, nodeObject, scaleToZero, WORKLOAD, WORKLOAD_LABELS } from '../fixtures.mjs';

const USER = { username: 'deploy-bot@example.com', uid: '9f1c2d3e', groups: ['system:authenticated', 'platform-deployers'] };
const CONTROLLER = (name) => ({ username: `system:serviceaccount:kube-system:${name}`, uid: `uid-${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] });

let serial = 0;
function review({ group = '', version = 'v1', kind, resource, subResource, operation, namespace, name, object, oldObject, user = USER, dryRun = false }) {
  const gvk = { group, version, kind };
  const gvr = { group, version, resource };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `fuzz-seed-${++serial}`,
      kind: gvk,
      resource: gvr,
      ...(subResource ? { subResource, requestSubResource: subResource } : {}),
      requestKind: gvk,
      requestResource: gvr,
      ...(name ? { name } : {}),
      ...(namespace ? { namespace } : {}),
      operation,
      userInfo: user,
      object: object ?? null,
      oldObject: oldObject ?? null,
      dryRun,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : operation === 'DELETE' ? 'DeleteOptions' : 'UpdateOptions' },
    },
  };
}

const template = (labels, extra = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image: 'registry.example/shop/app:2.1.0', resources: { requests: { cpu: '100m', memory: '128Mi' } } }], ...extra },
});

const workload = (apiVersion, kind, name, spec, metadata = {}) => ({
  apiVersion, kind, metadata: { name, namespace: NAMESPACE, uid: `uid-${kind}-${name}`, labels: { app: name }, ...metadata }, spec,
});

function workloads() {
  const labels = { app: 'ledger' };
  const statefulSet = (replicas) => workload('apps/v1', 'StatefulSet', 'ledger', { replicas, serviceName: 'ledger', selector: { matchLabels: labels }, template: template(labels) });
  const daemonSet = (image) => workload('apps/v1', 'DaemonSet', 'agent', { selector: { matchLabels: { app: 'agent' } }, template: { ...template({ app: 'agent' }), spec: { containers: [{ name: 'agent', image }] } } });
  const replicaSet = workload('apps/v1', 'ReplicaSet', `${WORKLOAD}-7d9f8c6b5`, { replicas: 3, selector: { matchLabels: WORKLOAD_LABELS }, template: template(WORKLOAD_LABELS) }, {
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: WORKLOAD, uid: `uid-${NAMESPACE}-${WORKLOAD}`, controller: true, blockOwnerDeletion: true }],
  });
  const critical = workload('apps/v1', 'Deployment', 'payments', { replicas: 3, selector: { matchLabels: { app: 'payments' } }, template: template({ app: 'payments', 'levee.dev/critical': 'true' }) }, { labels: { app: 'payments', 'levee.dev/critical': 'true' } });
  const pinned = workload('apps/v1', 'Deployment', 'payments', { replicas: 3, selector: { matchLabels: { app: 'payments' } }, template: template({ app: 'payments', 'levee.dev/critical': 'true' }, { nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } }) }, { labels: { app: 'payments', 'levee.dev/critical': 'true' } });
  const scale = (resource, name, replicas, old) => {
    const scaleObject = (value) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: NAMESPACE }, spec: value === 0 ? {} : { replicas: value }, status: { replicas: old, selector: `app=${name}` } });
    return review({ group: 'autoscaling', kind: 'Scale', resource, subResource: 'scale', operation: 'UPDATE', namespace: NAMESPACE, name, object: scaleObject(replicas), oldObject: scaleObject(old) });
  };
  const apps = (kind, resource, operation, object, oldObject, user) => review({ group: 'apps', kind, resource, operation, namespace: NAMESPACE, name: (object ?? oldObject).metadata.name, object, oldObject, user });
  return [
    { path: '/validate', review: deploymentUpdate() },
    { path: '/mutate', review: deploymentUpdate() },
    { path: '/validate', review: scaleToZero() },
    { path: '/validate', review: apps('Deployment', 'deployments', 'CREATE', critical) },
    { path: '/mutate', review: apps('Deployment', 'deployments', 'CREATE', critical) },
    { path: '/validate', review: apps('Deployment', 'deployments', 'UPDATE', pinned, critical) },
    { path: '/validate', review: apps('Deployment', 'deployments', 'DELETE', null, critical) },
    { path: '/validate', review: apps('StatefulSet', 'statefulsets', 'UPDATE', statefulSet(0), statefulSet(3)) },
    { path: '/validate', review: scale('statefulsets', 'ledger', 0, 3) },
    { path: '/validate', review: scale('replicasets', replicaSet.metadata.name, 0, 3) },
    { path: '/validate', review: apps('ReplicaSet', 'replicasets', 'CREATE', replicaSet, null, CONTROLLER('deployment-controller')) },
    { path: '/validate', review: apps('DaemonSet', 'daemonsets', 'UPDATE', daemonSet('registry.example/agent:2.0'), daemonSet('registry.example/agent:1.9')) },
  ];
}

function batchAndPods() {
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: NAMESPACE }, spec: { template: { ...template({ job: 'migrate' }), spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] } } } };
  const cronJob = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: NAMESPACE }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: job.spec } } };
  const pod = (owned) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: owned ? `${WORKLOAD}-7d9f8c6b5-x2x4q` : 'debug', namespace: NAMESPACE, labels: owned ? WORKLOAD_LABELS : {}, ...(owned ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${WORKLOAD}-7d9f8c6b5`, uid: 'uid-rs', controller: true }] } : {}) },
    spec: { containers: [{ name: 'app', image: 'registry.example/shop/app:2.1.0' }] },
  });
  return [
    { path: '/validate', review: review({ group: 'batch', kind: 'Job', resource: 'jobs', operation: 'CREATE', namespace: NAMESPACE, name: 'migrate', object: job }) },
    { path: '/validate', review: review({ group: 'batch', kind: 'CronJob', resource: 'cronjobs', operation: 'CREATE', namespace: NAMESPACE, name: 'report', object: cronJob }) },
    { path: '/validate', review: review({ kind: 'Pod', resource: 'pods', operation: 'CREATE', namespace: NAMESPACE, object: pod(true), user: CONTROLLER('replicaset-controller') }) },
    { path: '/validate', review: review({ kind: 'Pod', resource: 'pods', operation: 'CREATE', namespace: NAMESPACE, name: 'debug', object: pod(false) }) },
  ];
}

function autoscalers() {
  const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: WORKLOAD, namespace: NAMESPACE }, spec: { minReplicas: 0, maxReplicas: 10, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: WORKLOAD } } };
  const scaledObject = {
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject',
    metadata: { name: WORKLOAD, namespace: NAMESPACE, annotations: { 'autoscaling.keda.sh/paused-replicas': '0' } },
    spec: { scaleTargetRef: { name: WORKLOAD }, minReplicaCount: 0, triggers: [{ type: 'cpu', metadata: { value: '60' } }] },
  };
  return [
    { path: '/validate', review: review({ group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', operation: 'CREATE', namespace: NAMESPACE, name: WORKLOAD, object: hpa }) },
    { path: '/validate', review: review({ group: 'keda.sh', version: 'v1alpha1', kind: 'ScaledObject', resource: 'scaledobjects', operation: 'UPDATE', namespace: NAMESPACE, name: WORKLOAD, object: scaledObject, oldObject: { ...scaledObject, metadata: { ...scaledObject.metadata, annotations: {} } } }) },
  ];
}

function nodes() {
  const name = 'node-00007';
  const controller = { username: 'system:node:node-00007', groups: ['system:nodes', 'system:authenticated'] };
  const newer = nodeObject(name, { kubelet: 'v1.36.0' });
  return [
    { path: '/validate', review: nodeCordon() },
    { path: '/validate', review: review({ kind: 'Node', resource: 'nodes', operation: 'CREATE', name, object: newer, user: controller }) },
    { path: '/validate', review: review({ kind: 'Node', resource: 'nodes', operation: 'DELETE', name, oldObject: nodeObject(name) }) },
    { path: '/validate', review: review({ kind: 'Node', resource: 'nodes', subResource: 'status', operation: 'UPDATE', name, object: newer, oldObject: nodeObject(name), user: controller }) },
  ];
}

function karpenterAndClusterApi() {
  const pool = (values) => ({
    apiVersion: 'karpenter.sh/v1', kind: 'NodePool', metadata: { name: 'general' },
    spec: { template: { spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' }, requirements: [{ key: 'karpenter.sh/capacity-type', operator: 'In', values }] } } },
  });
  const capi = (kind, resource, spec, labels = { 'cluster.x-k8s.io/cluster-name': 'prod' }) => ({ apiVersion: `${resource === 'kubeadmcontrolplanes' ? 'controlplane.' : ''}cluster.x-k8s.io/v1beta2`, kind, metadata: { name: `prod-${resource}`, namespace: 'fleet', labels }, spec });
  const kcp = (version) => capi('KubeadmControlPlane', 'kubeadmcontrolplanes', { version, replicas: 3, machineTemplate: { spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'AWSMachineTemplate', name: 'cp' } } } });
  const md = (version) => capi('MachineDeployment', 'machinedeployments', { clusterName: 'prod', replicas: 3, template: { spec: { clusterName: 'prod', version, infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'AWSMachineTemplate', name: 'workers-spot' } } } });
  const clusterObject = (version) => ({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: 'prod', namespace: 'fleet' }, spec: { topology: { classRef: { name: 'aws' }, version } } });
  const machine = (version) => capi('Machine', 'machines', { clusterName: 'prod', version, bootstrap: { dataSecretName: 'x' }, infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'AWSMachine', name: 'm' } }, { 'cluster.x-k8s.io/cluster-name': 'prod', 'cluster.x-k8s.io/control-plane': '' });
  const cr = (group, version, kind, resource, operation, object, oldObject) =>
    review({ group, version, kind, resource, operation, namespace: object?.metadata?.namespace ?? oldObject?.metadata?.namespace, name: (object ?? oldObject).metadata.name, object, oldObject });
  return [
    { path: '/validate', review: cr('karpenter.sh', 'v1', 'NodePool', 'nodepools', 'CREATE', pool(['spot'])) },
    { path: '/validate', review: cr('karpenter.sh', 'v1', 'NodePool', 'nodepools', 'UPDATE', pool(['spot']), pool(['on-demand', 'spot'])) },
    { path: '/validate', review: cr('karpenter.sh', 'v1', 'NodePool', 'nodepools', 'DELETE', null, pool(['on-demand'])) },
    { path: '/validate', review: cr('controlplane.cluster.x-k8s.io', 'v1beta2', 'KubeadmControlPlane', 'kubeadmcontrolplanes', 'UPDATE', kcp('v1.12.10'), kcp('v1.20.2')) },
    { path: '/validate', review: cr('cluster.x-k8s.io', 'v1beta2', 'MachineDeployment', 'machinedeployments', 'CREATE', md('v1.21.0')) },
    { path: '/validate', review: cr('cluster.x-k8s.io', 'v1beta2', 'MachineDeployment', 'machinedeployments', 'DELETE', null, md('v1.20.2')) },
    { path: '/validate', review: cr('cluster.x-k8s.io', 'v1beta1', 'MachineSet', 'machinesets', 'UPDATE', capi('MachineSet', 'machinesets', { clusterName: 'prod', template: { spec: { version: 'v1.24.0' } } }), capi('MachineSet', 'machinesets', { clusterName: 'prod', template: { spec: { version: 'v1.20.2' } } })) },
    { path: '/validate', review: cr('cluster.x-k8s.io', 'v1beta2', 'MachinePool', 'machinepools', 'CREATE', capi('MachinePool', 'machinepools', { clusterName: 'prod', template: { spec: { version: 'v1.20.2' } } })) },
    { path: '/validate', review: cr('cluster.x-k8s.io', 'v1beta2', 'Machine', 'machines', 'UPDATE', machine('v1.19.0'), machine('v1.20.2')) },
    { path: '/validate', review: cr('cluster.x-k8s.io', 'v1beta2', 'Cluster', 'clusters', 'UPDATE', clusterObject('v1.24.0'), clusterObject('v1.20.2')) },
  ];
}

function kubeSystem() {
  const addon = (image) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    spec: { replicas: 2, selector: { matchLabels: { 'k8s-app': 'kube-dns' } }, template: { metadata: { labels: { 'k8s-app': 'kube-dns' } }, spec: { containers: [{ name: 'coredns', image }] } } },
  });
  return [
    { path: '/validate/warn-only', review: review({ group: 'apps', kind: 'Deployment', resource: 'deployments', operation: 'UPDATE', namespace: 'kube-system', name: 'coredns', object: addon('registry.k8s.io/coredns/coredns:v1.10.1'), oldObject: addon('registry.k8s.io/coredns/coredns:v1.12.0') }) },
  ];
}

/** Every seed: `{ path, review }`. */
export function seedReviews() {
  return [...workloads(), ...batchAndPods(), ...autoscalers(), ...nodes(), ...karpenterAndClusterApi(), ...kubeSystem()];
}
