import type { KubeObject } from '../kube/types.js';

/**
 * What a parsed document holds, for anything in levee that reads manifests: Kubernetes
 * objects (a `List` or any `...List` with `items` gives its items), or something else that
 * YAML and JSON files also hold in a repository (package.json, Helm values, an OpenAPI
 * document, a kustomization), which is not an object the API server would take.
 */
export type DocumentContent =
  | { kind: 'object'; object: KubeObject; line: number }
  | { kind: 'other'; line: number; what: string }
  | { kind: 'problem'; line: number; message: string };

export function documentContents(value: unknown, line: number, itemLines: readonly number[] = [], isJudgedKind: (object: KubeObject) => boolean = () => false): DocumentContent[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) return [{ kind: 'other', line, what: Array.isArray(value) ? 'a sequence, not a Kubernetes object' : 'a scalar, not a Kubernetes object' }];
  const object = value as KubeObject & { items?: unknown };
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || object.apiVersion === '' || object.kind === '') {
    return [{ kind: 'other', line, what: 'no apiVersion and kind, not a Kubernetes object' }];
  }
  if (object.kind.endsWith('List') && Array.isArray(object.items)) {
    return object.items.flatMap((item, i): DocumentContent[] => {
      const itemLine = itemLines[i] ?? line;
      const item_ = item as KubeObject | null;
      if (typeof item_ !== 'object' || item_ === null || typeof item_.apiVersion !== 'string' || typeof item_.kind !== 'string') {
        return [{ kind: 'problem', line: itemLine, message: `item ${i} of ${object.kind} is not a Kubernetes object (no apiVersion or kind)` }];
      }
      return documentContents(item_, itemLine, [], isJudgedKind);
    });
  }
  const metadata = object.metadata;
  if (typeof metadata?.name !== 'string' && typeof metadata?.generateName !== 'string') {
    // kubectl refuses it; for a kind levee judges that is a broken manifest, for anything
    // else (a Kustomization, a kubeconfig, a kubelet configuration) it is not an API object.
    if (isJudgedKind(object)) return [{ kind: 'problem', line, message: `${object.kind} has no metadata.name` }];
    return [{ kind: 'other', line, what: `${object.kind} without metadata.name, not an API object` }];
  }
  return [{ kind: 'object', object, line }];
}
