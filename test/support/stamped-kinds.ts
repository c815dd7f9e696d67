/**
 * Kinds levee reads a stamp or an override record from, one or more per rule group of the
 * registrations (manifests/components/webhooks/webhooks.yaml), as the tests that run the API
 * server's matcher over writes to them name them. test/unit/manifests/webhook-stamps.test.ts
 * derives the full set from the registrations and the policies.
 */
export type StampedKind = readonly [group: string, version: string, kind: string, resource: string, namespaced: boolean];

export const STAMPED_KINDS: readonly StampedKind[] = [
  ['apps', 'v1', 'Deployment', 'deployments', true],
  ['apps', 'v1', 'StatefulSet', 'statefulsets', true],
  ['apps', 'v1', 'ReplicaSet', 'replicasets', true],
  ['apps', 'v1', 'DaemonSet', 'daemonsets', true],
  ['', 'v1', 'ReplicationController', 'replicationcontrollers', true],
  ['batch', 'v1', 'Job', 'jobs', true],
  ['batch', 'v1', 'CronJob', 'cronjobs', true],
  ['autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true],
  ['keda.sh', 'v1alpha1', 'ScaledObject', 'scaledobjects', true],
  ['http.keda.sh', 'v1alpha1', 'HTTPScaledObject', 'httpscaledobjects', true],
  ['karpenter.sh', 'v1', 'NodePool', 'nodepools', false],
  ['cluster.x-k8s.io', 'v1beta2', 'Cluster', 'clusters', true],
  ['cluster.x-k8s.io', 'v1beta2', 'ClusterClass', 'clusterclasses', true],
  ['cluster.x-k8s.io', 'v1beta1', 'MachineDeployment', 'machinedeployments', true],
  ['cluster.x-k8s.io', 'v1beta2', 'MachinePool', 'machinepools', true],
  ['cluster.x-k8s.io', 'v1beta2', 'MachineSet', 'machinesets', true],
  ['cluster.x-k8s.io', 'v1beta2', 'Machine', 'machines', true],
  ['controlplane.cluster.x-k8s.io', 'v1beta2', 'KubeadmControlPlane', 'kubeadmcontrolplanes', true],
  ['controlplane.cluster.x-k8s.io', 'v1beta1', 'RKE2ControlPlane', 'rke2controlplanes', true],
  ['controlplane.cluster.x-k8s.io', 'v1alpha3', 'TalosControlPlane', 'taloscontrolplanes', true],
  ['infrastructure.cluster.x-k8s.io', 'v1beta2', 'AWSMachineTemplate', 'awsmachinetemplates', true],
  ['infrastructure.cluster.x-k8s.io', 'v1beta1', 'GCPManagedMachinePool', 'gcpmanagedmachinepools', true],
  ['infrastructure.cluster.x-k8s.io', 'v1beta1', 'AzureManagedControlPlane', 'azuremanagedcontrolplanes', true],
  ['', 'v1', 'Pod', 'pods', true],
  ['', 'v1', 'Node', 'nodes', false],
];
