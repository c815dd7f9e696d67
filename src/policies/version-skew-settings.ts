import { z } from 'zod';
import { DEFAULT_CONTROL_PLANES, DEFAULT_UPGRADE_INTENTS } from '../kube/cluster-api.js';
import { labelKey, namespaceName } from '../kube/name-syntax.js';
import { enforcementAction } from './action.js';

/**
 * The `policies.version-skew` settings beyond action and exemptions (merged, validated and
 * frozen by src/config.ts with the rest of the configuration).
 */

/**
 * Built-in API groups whose writes the webhook registrations' matchConditions filter by the
 * fields levee's policies read (manifests/components/webhooks/webhooks.yaml). An upgrade intent
 * there could keep its version in a field those conditions do not look at, so such writes
 * would never reach levee: upgrade intents must be custom resources.
 */
const FILTERED_GROUPS = ['apps', 'batch'];

const upgradeIntentKind = z.strictObject({
  group: z
    .string()
    .min(1)
    .refine((group) => !FILTERED_GROUPS.includes(group), {
      message: `an upgrade intent must be a custom resource, not a ${FILTERED_GROUPS.join(' or ')} kind: the webhook's matchConditions send those only when replicas, the pod template or labels change`,
    }),
  kind: z.string().min(1),
  versions: z.array(z.string().min(1)).min(1),
  versionField: z.string().min(1),
  fallbackVersionField: z.string().min(1).optional(),
  role: z.enum(['control-plane', 'workers', 'control-plane-and-workers']),
  controlPlaneLabel: labelKey.optional(),
  clusterLabel: labelKey.optional(),
  clusterField: z.string().min(1).optional(),
});

const controlPlanes = z.strictObject({
  groups: z.array(z.string().min(1)),
  kinds: z.array(z.strictObject({ group: z.string().min(1), kind: z.string().min(1), fallbackVersionField: z.string().min(1).optional() })),
  exclude: z.array(z.string().min(1)),
  versionField: z.string().min(1),
});

export interface AddonImages {
  name: string;
  /** Image repositories, matched as the whole repository or its trailing path (`calico/node`). */
  repositories: string[];
}

export const DEFAULT_ADDONS: AddonImages[] = [
  { name: 'coredns', repositories: ['coredns', 'coredns/coredns'] },
  { name: 'kube-proxy', repositories: ['kube-proxy'] },
  { name: 'calico', repositories: ['calico/node', 'calico/cni', 'calico/kube-controllers', 'calico/typha'] },
  { name: 'cilium', repositories: ['cilium/cilium', 'cilium/operator', 'cilium/operator-generic', 'cilium/operator-aws'] },
  { name: 'flannel', repositories: ['flannel/flannel', 'flannel/flannel-cni-plugin', 'coreos/flannel'] },
  { name: 'aws-node', repositories: ['amazon-k8s-cni', 'amazon-k8s-cni-init', 'amazon/aws-network-policy-agent'] },
];


export const versionSkewSettings = {
  /** Per-rule actions; a rule not listed takes the policy's action. */
  rules: z
    .strictObject({
      'control-plane-older-than-workers': enforcementAction.optional(),
      'control-plane-downgrade': enforcementAction.optional(),
      'minor-skip': enforcementAction.optional(),
      'workers-newer-than-control-plane': enforcementAction.optional(),
      'control-plane-too-far-ahead': enforcementAction.optional(),
      'workers-too-old': enforcementAction.optional(),
      'kubelet-newer-than-apiserver': enforcementAction.optional(),
      'addon-downgrade': enforcementAction.default('warn'),
    })
    .default({ 'addon-downgrade': 'warn' }),
  /** How often GET /version is asked, off the admission path. */
  apiServerRefreshSeconds: z.number().int().min(5).max(3600).default(60),
  upgradeIntents: z.array(upgradeIntentKind).default(() => DEFAULT_UPGRADE_INTENTS.map((kind) => ({ ...kind, versions: [...kind.versions] }))),
  /** Control planes found from their CRDs (kube/cluster-api.ts says which). */
  controlPlanes: controlPlanes.default(() => ({
    groups: [...DEFAULT_CONTROL_PLANES.groups],
    kinds: DEFAULT_CONTROL_PLANES.kinds.map((kind) => ({ ...kind })),
    exclude: [...DEFAULT_CONTROL_PLANES.exclude],
    versionField: DEFAULT_CONTROL_PLANES.versionField,
  })),
  addons: z
    .strictObject({
      namespaces: z.array(namespaceName).default(['kube-system']),
      images: z.array(z.strictObject({ name: z.string().min(1), repositories: z.array(z.string().min(1)) })).default(() => structuredClone(DEFAULT_ADDONS)),
    })
    .default(() => ({ namespaces: ['kube-system'], images: structuredClone(DEFAULT_ADDONS) })),
};
