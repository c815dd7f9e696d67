import { createHash } from 'node:crypto';
import { recordOf } from './fields.js';
import type { PodTemplateKind } from './pod-template.js';
import type { KubeObject } from './types.js';

/**
 * The pod template of every kind that runs pods, and a canonical form of it, so that "did
 * this change the pods?" and "has the cluster run this template before?" are questions about
 * equal strings. Canonical means: keys sorted; nulls, empty maps and empty lists dropped (the
 * typed client and the raw API disagree on those); `creationTimestamp` and the
 * `pod-template-hash` label (added by the Deployment controller to its ReplicaSets) removed.
 */

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/**
 * The whole template that becomes pods, annotations included (a changed template annotation
 * is a rollout: `kubectl rollout restart` is one): `spec.template`, a CronJob's job
 * template's, or for a Pod its spec (a Pod's labels and annotations are only metadata).
 */
export function rolloutTemplateOf(kind: PodTemplateKind, object: KubeObject | null): unknown {
  if (!object) return undefined;
  const spec = recordOf(object.spec);
  if (kind === 'Pod') return spec;
  if (kind === 'CronJob') return recordOf(recordOf(recordOf(spec?.jobTemplate)?.spec)?.template);
  return spec?.template;
}

/** Whether `after` runs other pods than `before`: a rollout (templates compared in canonical form). */
export function changesRolloutTemplate(kind: PodTemplateKind, before: KubeObject | null, after: KubeObject | null): boolean {
  return canonicalTemplate(rolloutTemplateOf(kind, before)) !== canonicalTemplate(rolloutTemplateOf(kind, after));
}

export function canonicalTemplate(template: unknown): string {
  return JSON.stringify(canonical(stripVolatile(template)) ?? null);
}

export function templateHash(template: unknown): string {
  return createHash('sha256').update(canonicalTemplate(template)).digest('hex').slice(0, 20);
}

function stripVolatile(template: unknown): unknown {
  const top = recordOf(template);
  const metadata = recordOf(top?.metadata);
  if (!top || !metadata) return template;
  const labels = recordOf(metadata.labels);
  const { [POD_TEMPLATE_HASH_LABEL]: _hash, ...otherLabels } = labels ?? {};
  const { creationTimestamp: _created, ...otherMetadata } = metadata;
  return { ...top, metadata: { ...otherMetadata, ...(labels ? { labels: otherLabels } : {}) } };
}

function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    const items = value.map(canonical).filter((item) => item !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const entry = canonical((value as Record<string, unknown>)[key]);
      if (entry !== undefined) out[key] = entry;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value;
}
