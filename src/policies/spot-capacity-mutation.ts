import { hasController } from '../kube/owners.js';
import { placementKeys, podTemplateOf, workloadSelector } from '../kube/pod-template.js';
import { changesRolloutTemplate } from '../kube/template-hash.js';
import { isScalableKind } from '../kube/workload.js';
import { mentionsCapacity } from '../cluster/capacity.js';
import { criticalBecause } from './spot-capacity.js';
import type { Mutator } from './types.js';

/**
 * For a critical workload whose placement says nothing about capacity type, a preferred
 * spread across capacity types, so that its replicas do not all land on spot nodes. Added
 * on create, and on updates that change the pod template anyway: adding it to an untouched
 * template would start a rollout nobody asked for.
 */
export const spotCapacitySpread: Mutator = {
  policy: 'spot-capacity',
  mutate: ({ request, config, copy }) => {
    const settings = config.policies['spot-capacity'];
    if (!settings.spread.enabled || request.subResource) return;
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return;
    // Any controller reference, believed or not, leaves the object alone: a controller's
    // template (a ReplicaSet's, an operator's Deployment) changed under it would be rolled
    // back or rolled out again by that controller, and a forged reference only loses its
    // writer the spread; the placement itself is still judged at /validate (critical-pinned-to-spot).
    if (!isScalableKind(copy.kind) || hasController(copy)) return;
    const template = podTemplateOf(copy);
    if (!template) return;
    const namespace = copy.metadata?.namespace ?? request.namespace ?? '';
    if (criticalBecause(copy, template, namespace, settings.critical) === undefined) return;
    // The whole template, annotations included: a restart (kubectl rollout restart stamps an
    // annotation on it) starts a rollout as surely as a new image does.
    if (request.operation === 'UPDATE' && !changesRolloutTemplate(copy.kind, request.oldObject, request.object)) return;
    if (mentionsCapacity(placementKeys(template.spec), settings.capacityLabels, [settings.spread.topologyKey])) return;
    template.spec.topologySpreadConstraints = [
      ...(template.spec.topologySpreadConstraints ?? []),
      {
        maxSkew: 1,
        topologyKey: settings.spread.topologyKey,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: workloadSelector(copy, template) },
      },
    ];
  },
};
