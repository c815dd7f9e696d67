import type { JudgedKind } from './types.js';

/** The built-in kinds several policies judge, declared once. */

const namespaced = (group: string, kind: string, resource: string): JudgedKind => ({ group, version: 'v1', kind, resource, namespaced: true });

export const NODES: JudgedKind = { group: '', version: 'v1', kind: 'Node', resource: 'nodes', namespaced: false };
export const PODS = namespaced('', 'Pod', 'pods');
export const DEPLOYMENTS = namespaced('apps', 'Deployment', 'deployments');
export const STATEFULSETS = namespaced('apps', 'StatefulSet', 'statefulsets');
export const DAEMONSETS = namespaced('apps', 'DaemonSet', 'daemonsets');
export const REPLICASETS = namespaced('apps', 'ReplicaSet', 'replicasets');
export const REPLICATIONCONTROLLERS = namespaced('', 'ReplicationController', 'replicationcontrollers');
export const JOBS = namespaced('batch', 'Job', 'jobs');
export const CRONJOBS = namespaced('batch', 'CronJob', 'cronjobs');
