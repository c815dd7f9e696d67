/**
 * Minimal CustomResourceDefinitions with the real group, kind and versions of a project's
 * CRD (Cluster API, its providers, Karpenter), accepting any content: enough for the API
 * server to serve the kind and for levee to watch it and be called for it.
 */
export function minimalCrd(
  group: string,
  kind: string,
  plural: string,
  options: { scope?: 'Namespaced' | 'Cluster'; versions?: string[]; scale?: boolean } = {},
): string {
  const { scope = 'Namespaced', versions = ['v1beta1', 'v1beta2'] } = options;
  // The scale subresource as Cluster API declares it for MachineDeployments and MachinePools.
  const scale = options.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } } : {};
  const schema = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
  const storage = versions[versions.length - 1];
  return JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: versions.map((name) => ({ name, served: true, storage: name === storage, schema, subresources: { status: {}, ...scale } })),
    },
  });
}
