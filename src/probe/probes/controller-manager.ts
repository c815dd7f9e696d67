import type { ProbeDefinition } from '../types.js';
import { leaseRenewal } from './lease-renewal.js';

/** kube-controller-manager is alive: its leader Lease is renewed (every controller behind Deployments, endpoints, GC depends on it). */
export const controllerManager: ProbeDefinition = {
  id: 'controller-manager',
  summary: 'Lease kube-system/kube-controller-manager renewed within its duration',
  feeds: ['lease/kube-controller-manager'],
  run: (context) => leaseRenewal(context, 'kube-controller-manager'),
};
