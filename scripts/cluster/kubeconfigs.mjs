// Kubeconfigs for the admin, the unprivileged `developer` and the components, each with
// its client certificate inlined; rewritten only when their content changes.
import { readFileSync, writeFileSync } from 'node:fs';

function kubeconfigYaml({ server, caCert, cert, key, user, context, namespace = 'default' }) {
  const b64 = (file) => readFileSync(file).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: levee
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caCert)}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(cert)}
    client-key-data: ${b64(key)}
contexts:
- name: ${context}
  context:
    cluster: levee
    user: ${user}
    namespace: ${namespace}
current-context: ${context}
preferences: {}
`;
}

function writeIfChanged(file, content, mode = 0o600) {
  try {
    if (readFileSync(file, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  writeFileSync(file, content, { mode });
}

export function writeKubeconfigs(paths, pki, server) {
  const file = (name) => ({ cert: pki.cert(name), key: pki.key(name), caCert: pki.caCert, server });
  writeIfChanged(paths.kubeconfig, kubeconfigYaml({ ...file('admin'), user: 'levee-admin', context: 'levee' }));
  writeIfChanged(
    paths.userKubeconfig,
    kubeconfigYaml({ ...file('developer'), user: 'developer', context: 'levee-developer' }),
  );
  for (const name of ['kube-controller-manager', 'kube-scheduler', 'kwok']) {
    writeIfChanged(paths.componentKubeconfig(name), kubeconfigYaml({ ...file(name), user: name, context: name }));
  }
}
