// The API server's admission configuration: the client certificate it presents when it calls
// a webhook, so levee (started with --client-ca and --client-name, as `npm start` and the e2e
// suite do) can tell the API server's reviews from anyone else's. The certificate is the
// cluster CA's `webhook-client` (pki.mjs); the kubeconfig offers it to every webhook host
// ("*"): only levee's webhooks are registered on this cluster, and a client certificate gives
// a server nothing it could replay.
import { readFileSync, writeFileSync } from 'node:fs';

/** The common name of the API server's webhook client certificate. */
export const WEBHOOK_CLIENT_NAME = 'kube-apiserver-webhook-client';

function writeIfChanged(file, content, mode) {
  try {
    if (readFileSync(file, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  writeFileSync(file, content, { mode });
}

export function writeAdmissionConfig(paths, pki) {
  const b64 = (file) => readFileSync(file).toString('base64');
  writeIfChanged(
    paths.webhookClientKubeconfig,
    `apiVersion: v1
kind: Config
users:
- name: "*"
  user:
    client-certificate-data: ${b64(pki.cert('webhook-client'))}
    client-key-data: ${b64(pki.key('webhook-client'))}
`,
    0o600,
  );
  const plugin = (name) => `- name: ${name}
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: ${paths.webhookClientKubeconfig}
`;
  writeIfChanged(
    paths.admissionConfig,
    `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
${plugin('ValidatingAdmissionWebhook')}${plugin('MutatingAdmissionWebhook')}`,
    0o644,
  );
}
