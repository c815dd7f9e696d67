import { recordOf } from '../kube/fields.js';
import { controllerOf } from '../kube/owners.js';
import { templateHash } from '../kube/template-hash.js';
import type { KubeObject } from '../kube/types.js';

/**
 * ControllerRevisions: the pod templates a DaemonSet or StatefulSet has run, as their
 * controllers record them, so that `kubectl rollout undo` of either is recognised as a rollback
 * the way a Deployment's is through its ReplicaSets. Only the owner's uid and the template's
 * canonical hash are kept.
 */

export interface ControllerRevisionView {
  namespace: string;
  name: string;
  /** The uid of the DaemonSet or StatefulSet that controls it. */
  ownerUid?: string;
  templateHash?: string;
}

/**
 * The template a revision restores. The daemon-set and statefulset controllers store
 * `{"spec": {"template": {..., "$patch": "replace"}}}`, which `kubectl rollout undo` sends
 * back as a strategic merge patch; the `$patch` directive is not part of the template.
 */
export function revisionTemplateOf(object: KubeObject): unknown {
  const template = recordOf(recordOf(recordOf(object.data)?.spec)?.template);
  if (!template) return undefined;
  const { $patch: _directive, ...rest } = template;
  return rest;
}

export function toControllerRevisionView(object: KubeObject): ControllerRevisionView {
  const namespace = object.metadata?.namespace ?? '';
  const name = object.metadata?.name ?? '';
  const ownerUid = controllerOf(object)?.uid || undefined;
  const template = revisionTemplateOf(object);
  const hash = template === undefined ? undefined : templateHash(template);
  if (ownerUid && hash) return { namespace, name, ownerUid, templateHash: hash };
  if (ownerUid) return { namespace, name, ownerUid };
  return hash ? { namespace, name, templateHash: hash } : { namespace, name };
}

/** The index key of "this owner ran this template": its uid and the template's canonical hash. */
export function ownerTemplateKey(ownerUid: string, hash: string): string {
  return `${ownerUid}#${hash}`;
}
