// The AdmissionReviews the bench sends, shaped as kube-apiserver v1.34 sends them: a
// Deployment update as `kubectl apply` makes it (managedFields, last-applied annotation,
// status), a `kubectl scale --replicas=0` through the scale subresource (ScaleSpec.replicas
// is omitempty, so zero arrives as `spec: {}`), and a `kubectl cordon` of a Node.

export const NAMESPACE = 'team-00';
export const WORKLOAD = 'checkout';
export const WORKLOAD_PODS = 3;

/** Pod template labels of the fixture workload; its Service selects the first two. */
export const WORKLOAD_LABELS = {
  'app.kubernetes.io/name': WORKLOAD,
  'app.kubernetes.io/part-of': NAMESPACE,
  'app.kubernetes.io/managed-by': 'Helm',
  'app.kubernetes.io/version': '4.12.0',
};
export const SERVICE_SELECTOR = { 'app.kubernetes.io/name': WORKLOAD, 'app.kubernetes.io/part-of': NAMESPACE };

const USER = {
  username: 'deploy-bot@example.com',
  uid: '9f1c2d3e-5b6a-4c7d-8e9f-0a1b2c3d4e5f',
  groups: ['system:authenticated', 'platform-deployers'],
  extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=4d0e6a2f'] },
};

function managedFields(manager, time) {
  return [
    {
      manager,
      operation: 'Update',
      apiVersion: 'apps/v1',
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app.kubernetes.io/name': {}, 'f:app.kubernetes.io/part-of': {} } },
        'f:spec': {
          'f:progressDeadlineSeconds': {},
          'f:replicas': {},
          'f:revisionHistoryLimit': {},
          'f:selector': {},
          'f:strategy': { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} },
          'f:template': {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app.kubernetes.io/name': {}, 'f:app.kubernetes.io/part-of': {} } },
            'f:spec': {
              'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {}, 'f:readinessProbe': {} } },
              'f:dnsPolicy': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
              'f:securityContext': {},
              'f:terminationGracePeriodSeconds': {},
            },
          },
        },
      },
    },
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time,
      fieldsType: 'FieldsV1',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:availableReplicas': {}, 'f:conditions': {}, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {}, 'f:updatedReplicas': {} } },
    },
  ];
}

function deployment(image, generation) {
  const spec = {
    replicas: WORKLOAD_PODS,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    selector: { matchLabels: SERVICE_SELECTOR },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: WORKLOAD_LABELS, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } },
      spec: {
        containers: [
          {
            name: 'app',
            image,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
            env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'DB_HOST', value: 'postgres.team-00.svc' }],
            resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
            readinessProbe: { httpGet: { path: '/readyz', port: 'http', scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
          },
        ],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        securityContext: { runAsNonRoot: true },
        schedulerName: 'default-scheduler',
      },
    },
  };
  const lastApplied = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: WORKLOAD, namespace: NAMESPACE, labels: SERVICE_SELECTOR }, spec });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: WORKLOAD,
      namespace: NAMESPACE,
      uid: '1c6f3a52-7d1e-4b9a-9f0e-2b3c4d5e6f70',
      resourceVersion: String(48213 + generation),
      generation,
      creationTimestamp: '2026-10-02T08:14:11Z',
      labels: SERVICE_SELECTOR,
      annotations: { 'deployment.kubernetes.io/revision': String(generation), 'kubectl.kubernetes.io/last-applied-configuration': `${lastApplied}\n` },
      managedFields: managedFields('kubectl-client-side-apply', '2026-11-20T09:30:00Z'),
    },
    spec,
    status: {
      observedGeneration: generation,
      replicas: WORKLOAD_PODS,
      updatedReplicas: WORKLOAD_PODS,
      readyReplicas: WORKLOAD_PODS,
      availableReplicas: WORKLOAD_PODS,
      conditions: [
        { type: 'Available', status: 'True', lastUpdateTime: '2026-11-20T09:31:02Z', lastTransitionTime: '2026-10-02T08:14:40Z', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
        { type: 'Progressing', status: 'True', lastUpdateTime: '2026-11-20T09:31:02Z', lastTransitionTime: '2026-10-02T08:14:11Z', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${WORKLOAD}-7d9f8c6b5" has successfully progressed.` },
      ],
    },
  };
}

function review(uid, request) {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, ...request, userInfo: USER, dryRun: false } };
}

export function deploymentUpdate() {
  return review('6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b', {
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
    name: WORKLOAD,
    namespace: NAMESPACE,
    operation: 'UPDATE',
    object: deployment('registry.example/shop/checkout:4.12.1', 8),
    oldObject: deployment('registry.example/shop/checkout:4.12.0', 7),
    options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' },
  });
}

export function scaleToZero() {
  const scale = (replicas) => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: WORKLOAD, namespace: NAMESPACE, uid: '1c6f3a52-7d1e-4b9a-9f0e-2b3c4d5e6f70', resourceVersion: '48221', creationTimestamp: '2026-10-02T08:14:11Z' },
    spec: replicas === 0 ? {} : { replicas },
    status: { replicas: WORKLOAD_PODS, selector: 'app.kubernetes.io/name=checkout,app.kubernetes.io/part-of=team-00' },
  });
  return review('7b2e1d3f-4c5e-4f6a-9b0c-1d2e3f4a5b6c', {
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    subResource: 'scale',
    requestKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
    requestSubResource: 'scale',
    name: WORKLOAD,
    namespace: NAMESPACE,
    operation: 'UPDATE',
    object: scale(0),
    oldObject: scale(WORKLOAD_PODS),
    options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-scale' },
  });
}

export function nodeObject(name, { spot = false, kubelet = 'v1.34.4', cordoned = false } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `node-uid-${name}`,
      resourceVersion: '51234',
      creationTimestamp: '2026-11-01T06:00:00Z',
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': spot ? 'm6i.large' : 'm6i.xlarge',
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': 'eu-west-1a',
        'karpenter.sh/capacity-type': spot ? 'spot' : 'on-demand',
        'karpenter.sh/nodepool': spot ? 'spot-general' : 'general',
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: {
      providerID: `aws:///eu-west-1a/i-0${name.replace(/\D/g, '').padStart(16, '0')}`,
      ...(cordoned ? { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: '2026-11-23T10:00:00Z' }] } : {}),
    },
    status: {
      capacity: { cpu: '4', memory: '16094584Ki', pods: '58', 'ephemeral-storage': '83873772Ki' },
      allocatable: { cpu: '3920m', memory: '15077752Ki', pods: '58', 'ephemeral-storage': '76224326324' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({
        type, status: 'False', lastHeartbeatTime: '2026-11-23T10:00:00Z', lastTransitionTime: '2026-11-01T06:00:00Z', reason: `KubeletHasNo${type}`, message: `kubelet has no ${type}`,
      })).concat([{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-23T10:00:00Z', lastTransitionTime: '2026-11-01T06:00:30Z', reason: 'KubeletReady', message: 'kubelet is posting ready status' }]),
      addresses: [{ type: 'InternalIP', address: '10.0.12.34' }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: 'ec2b5d9c1f4e4a7b8c9d0e1f2a3b4c5d', systemUUID: 'ec2b5d9c-1f4e-4a7b-8c9d-0e1f2a3b4c5d', bootID: '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b',
        kernelVersion: '6.1.112-124.190.amzn2023.x86_64', osImage: 'Amazon Linux 2023.6.20241010', containerRuntimeVersion: 'containerd://1.7.22',
        kubeletVersion: kubelet, kubeProxyVersion: kubelet, operatingSystem: 'linux', architecture: 'amd64',
      },
      images: Array.from({ length: 12 }, (_, i) => ({
        names: [`registry.example/platform/image-${i}@sha256:${String(i).repeat(64).slice(0, 64)}`, `registry.example/platform/image-${i}:1.${i}.0`],
        sizeBytes: 20_000_000 + i * 1_000_000,
      })),
    },
  };
}

export const CORDONED_NODE = 'node-00042';

export function nodeCordon() {
  return review('8c3f2e4a-5d6f-4a7b-8c9d-2e3f4a5b6c7d', {
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    requestKind: { group: '', version: 'v1', kind: 'Node' },
    requestResource: { group: '', version: 'v1', resource: 'nodes' },
    name: CORDONED_NODE,
    operation: 'UPDATE',
    object: nodeObject(CORDONED_NODE, { cordoned: true }),
    oldObject: nodeObject(CORDONED_NODE),
    options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-cordon' },
  });
}

/** The mix the bench sends round-robin. */
export function benchReviews() {
  return [
    { name: 'Deployment update', review: deploymentUpdate() },
    { name: 'scale to 0', review: scaleToZero() },
    { name: 'Node cordon', review: nodeCordon() },
  ];
}

/** A probe verdict as `levee probe` writes it to the shared file. */
export function verdictDocument(verdict, run) {
  const now = new Date().toISOString();
  const failing = verdict === 'Unhealthy';
  return {
    verdict,
    since: now,
    generatedAt: now,
    reporter: 'soak',
    leader: true,
    run,
    failing: failing ? ['api-write-path'] : [],
    probes: [
      {
        probe: 'api-write-path',
        status: failing ? 'Failing' : 'Passing',
        critical: true,
        lastOk: !failing,
        latencyMs: failing ? 5000 : 40,
        message: failing ? 'ConfigMap write did not complete within 5000 ms' : 'create, update and delete of a ConfigMap in 40 ms',
        consecutiveFailures: failing ? 3 : 0,
        consecutiveSuccesses: failing ? 0 : 3,
        ...(failing ? { failingSince: now } : {}),
        lastTransitionTime: now,
        checkedAt: now,
      },
    ],
  };
}

/**
 * The Deployment update of the mix, grown to about `bytes` of JSON: both objects carry the
 * same long list of environment variables in the pod template and their managedFields entries,
 * the shape of the largest objects levee judges (many small fields, as etcd stores them). For
 * the hostile-load section: the largest review the API server can send, and the 6.85 MiB.
 */
export function largeDeploymentUpdate(bytes) {
  const review = deploymentUpdate();
  const base = JSON.stringify(review).length;
  const perVariable = 2 * (JSON.stringify({ name: 'SETTING_000000', value: 'setting-000000-value' }).length + JSON.stringify({ 'k:{"name":"SETTING_000000"}': { '.': {}, 'f:name': {}, 'f:value': {} } }).length);
  const count = Math.max(0, Math.floor((bytes - base) / perVariable));
  for (const object of [review.request.object, review.request.oldObject]) {
    const id = (i) => String(i).padStart(6, '0');
    object.spec.template.spec.containers[0].env = Array.from({ length: count }, (_, i) => ({ name: `SETTING_${id(i)}`, value: `setting-${id(i)}-value` }));
    const fields = object.metadata.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}'];
    fields['f:env'] = Object.fromEntries(Array.from({ length: count }, (_, i) => [`k:{"name":"SETTING_${id(i)}"}`, { '.': {}, 'f:name': {}, 'f:value': {} }]));
  }
  return review;
}
