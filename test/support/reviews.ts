/** Builders of realistic AdmissionReview bodies for tests. */

export interface DeploymentReviewOptions {
  uid?: string;
  name?: string;
  namespace?: string;
  replicas: number;
  oldReplicas?: number;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  oldAnnotations?: Record<string, string>;
  dryRun?: boolean;
  username?: string;
}

export function deploymentObject(name: string, namespace: string, replicas: number, labels: Record<string, string>, annotations?: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, uid: `uid-${name}`, labels, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] } },
    },
  };
}

export function deploymentReview(options: DeploymentReviewOptions): unknown {
  const name = options.name ?? 'web';
  const namespace = options.namespace ?? 'default';
  const labels = options.labels ?? { app: name };
  const operation = options.operation ?? 'UPDATE';
  const object = deploymentObject(name, namespace, options.replicas, labels, options.annotations);
  const oldObject = deploymentObject(name, namespace, options.oldReplicas ?? 3, labels, options.oldAnnotations ?? options.annotations);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? 'uid-1',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name,
      namespace,
      operation,
      userInfo: { username: options.username ?? 'alice', uid: 'u-1', groups: ['system:authenticated'] },
      object: operation === 'DELETE' ? null : object,
      oldObject: operation === 'CREATE' ? null : oldObject,
      dryRun: options.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
    },
  };
}

export function scaleReview(options: { uid?: string; name?: string; namespace?: string; replicas: number; oldReplicas?: number; dryRun?: boolean }): unknown {
  const name = options.name ?? 'web';
  const namespace = options.namespace ?? 'default';
  // As the API server sends it: ScaleSpec.replicas is omitempty, so zero is left out.
  const scale = (replicas: number) => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace },
    spec: replicas === 0 ? {} : { replicas },
    status: { replicas: options.oldReplicas ?? 3, selector: `app=${name}` },
  });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? 'uid-scale',
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      subResource: 'scale',
      name,
      namespace,
      operation: 'UPDATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: scale(options.replicas),
      oldObject: scale(options.oldReplicas ?? 3),
      dryRun: options.dryRun ?? false,
    },
  };
}
