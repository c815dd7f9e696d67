import type { ProbeDefinition } from '../types.js';
import { leaseRenewal } from './lease-renewal.js';

/** kube-scheduler is alive: its leader Lease is renewed (without it new pods never get a node). */
export const scheduler: ProbeDefinition = {
  id: 'scheduler',
  summary: 'Lease kube-system/kube-scheduler renewed within its duration',
  feeds: ['lease/kube-scheduler'],
  run: (context) => leaseRenewal(context, 'kube-scheduler'),
};
