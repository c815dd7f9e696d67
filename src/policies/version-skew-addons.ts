import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { podTemplateOf } from '../kube/pod-template.js';
import { parseKubeVersion, type KubeVersion } from '../cluster/versions.js';
import type { AddonImages } from './version-skew-settings.js';

/** A well-known add-on's image that changes version in one container. */
export interface AddonImageChange {
  container: string;
  addon: string;
  image: string;
  from: KubeVersion;
  to: KubeVersion;
}

export interface AddonContext {
  subject: 'addon';
  workload: { kind: string; namespace: string; name: string };
  images: AddonImageChange[];
}

const ADDON_KINDS = new Set(['Deployment', 'DaemonSet']);

/** `registry.k8s.io/coredns/coredns:v1.11.1@sha256:...` -> repository and tag. */
export function splitImage(image: string): { repository: string; tag: string } {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > lastSlash) return { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) };
  return { repository: withoutDigest, tag: '' };
}

export function addonOf(repository: string, addons: readonly AddonImages[]): string | undefined {
  for (const addon of addons) {
    if (addon.repositories.some((known) => repository === known || repository.endsWith(`/${known}`))) return addon.name;
  }
  return undefined;
}

/** Tags that are versions (`v1.11.1`, `1.29.3-eksbuild.1`); `latest` or `sha-1a2b` are not. */
function versionTag(tag: string): KubeVersion | undefined {
  return /^v?\d+\.\d+/.test(tag) ? parseKubeVersion(tag) : undefined;
}

function containerImages(object: KubeObject | null): Map<string, string> {
  const images = new Map<string, string>();
  const spec = podTemplateOf(object)?.spec as { containers?: Array<{ name: string; image?: string }>; initContainers?: Array<{ name: string; image?: string }> } | undefined;
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    if (container.image) images.set(container.name, container.image);
  }
  return images;
}

/** An update of a kube-system add-on whose image version changes; undefined for anything else. */
export function addonChange(request: AdmissionRequest, settings: { namespaces: readonly string[]; images: readonly AddonImages[] }): AddonContext | undefined {
  if (request.operation !== 'UPDATE' || request.subResource || request.kind.group !== 'apps' || !ADDON_KINDS.has(request.kind.kind)) return undefined;
  const namespace = request.namespace ?? '';
  if (!settings.namespaces.includes(namespace)) return undefined;
  const before = containerImages(request.oldObject);
  const changes: AddonImageChange[] = [];
  for (const [container, image] of containerImages(request.object)) {
    const previous = before.get(container);
    if (!previous || previous === image) continue;
    const now = splitImage(image);
    const then = splitImage(previous);
    const addon = addonOf(now.repository, settings.images);
    if (!addon || addonOf(then.repository, settings.images) !== addon) continue;
    const from = versionTag(then.tag);
    const to = versionTag(now.tag);
    if (from && to) changes.push({ container, addon, image: now.repository, from, to });
  }
  if (changes.length === 0) return undefined;
  return { subject: 'addon', workload: { kind: request.kind.kind, namespace, name: request.name ?? request.object?.metadata?.name ?? '' }, images: changes };
}
