import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/**
 * manifests/overlays/cert-manager as cert-manager reads it. No cert-manager runs here, so the
 * test follows the references it would follow: the caBundle must come from a CA whose
 * certificate does not change when the serving certificate renews.
 */

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  webhooks?: Array<{ name: string; clientConfig: { service?: { name: string; namespace: string } } }>;
}
interface CertificateSpec {
  isCA?: boolean;
  secretName: string;
  dnsNames?: string[];
  issuerRef: { kind: string; name: string };
  privateKey?: { rotationPolicy?: string };
  usages?: string[];
}

const objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', 'manifests/overlays/cert-manager'], { encoding: 'utf8' }))
  .map((doc) => doc.toJSON() as Manifest)
  .filter(Boolean);
const named = (kind: string, name: string): Manifest | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);
const certificate = (name: string): CertificateSpec => {
  const found = named('Certificate', name);
  assert.ok(found, `Certificate ${name}`);
  return found.spec as unknown as CertificateSpec;
};

describe('e2e: the cert-manager overlay (manifests/overlays/cert-manager)', () => {
  const registrations = objects.filter((o) => o.kind.endsWith('WebhookConfiguration'));
  const injected = registrations.map((o) => o.metadata.annotations?.['cert-manager.io/inject-ca-from']);

  it('injects the caBundle of both webhook configurations from a CA certificate, not from the serving one', () => {
    assert.equal(registrations.length, 2);
    assert.equal(new Set(injected).size, 1, `both inject the same CA: ${injected.join(', ')}`);
    const [namespace, name] = injected[0]!.split('/');
    assert.equal(namespace, 'levee-system');
    const ca = certificate(name!);
    assert.equal(ca.isCA, true, `${injected[0]} is a CA`);
    assert.equal(ca.privateKey?.rotationPolicy, 'Never', 'a renewed CA keeps its key, so what it signed before still verifies');
    const root = named(ca.issuerRef.kind, ca.issuerRef.name);
    assert.ok(root && 'selfSigned' in (root.spec ?? {}), `the CA is self-signed: ${ca.issuerRef.kind}/${ca.issuerRef.name}`);
  });

  it('issues the serving certificate from that CA through a CA issuer, with a new key at each renewal', () => {
    const ca = certificate(injected[0]!.split('/')[1]!);
    const deployment = named('Deployment', 'levee') as unknown as { spec: { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string } }> } } } };
    const tlsSecret = deployment.spec.template.spec.volumes.find((volume) => volume.name === 'tls')?.secret?.secretName;
    const serving = objects.map((o) => (o.kind === 'Certificate' ? { name: o.metadata.name, spec: o.spec as unknown as CertificateSpec } : undefined)).find((c) => c?.spec.secretName === tlsSecret);
    assert.ok(serving, `a Certificate writes the Secret levee mounts (${tlsSecret})`);
    assert.notEqual(serving.spec.isCA, true);
    const issuer = named(serving.spec.issuerRef.kind, serving.spec.issuerRef.name) as { spec: { ca?: { secretName: string } } } | undefined;
    assert.equal(issuer?.spec.ca?.secretName, ca.secretName, 'the serving certificate is signed by the injected CA');
    assert.equal(serving.spec.privateKey?.rotationPolicy, 'Always');
    assert.deepEqual(serving.spec.usages?.filter((usage) => usage.endsWith('auth')), ['server auth']);
    for (const webhook of registrations.flatMap((o) => o.webhooks ?? [])) {
      const service = webhook.clientConfig.service!;
      assert.ok(serving.spec.dnsNames?.includes(`${service.name}.${service.namespace}.svc`), `${webhook.name} reaches a name the certificate holds`);
    }
  });

  it('issues the API server a client certificate from the same CA, for client authentication only', () => {
    const ca = certificate(injected[0]!.split('/')[1]!);
    const client = certificate('levee-apiserver-client') as CertificateSpec & { commonName?: string };
    const issuer = named(client.issuerRef.kind, client.issuerRef.name) as { spec: { ca?: { secretName: string } } } | undefined;
    assert.equal(issuer?.spec.ca?.secretName, ca.secretName);
    assert.deepEqual(client.usages?.filter((usage) => usage.endsWith('auth')), ['client auth']);
    assert.equal(client.commonName, 'kube-apiserver-webhook-client');
  });
});
