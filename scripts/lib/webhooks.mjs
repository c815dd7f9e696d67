// Registers and removes the dev overlay's webhooks for a levee running on the host.
// Imported after `npm run build`: manifests are read as levee reads them everywhere.
import { buildConfig } from '../../dist/src/config.js';
import { manifestObjects } from '../../dist/src/manifests/read.js';
import { mutateCondition, registeredMutateCondition } from '../../dist/src/policies/mutate-condition.js';
import { kubectl } from './kubectl.mjs';

/**
 * The dev overlay, rendered by kustomize, pointed at https://127.0.0.1:<port> with the given CA,
 * with the /mutate condition rendered from `config` (the configuration file serve is given, or none).
 */
export function renderDevWebhooks({ kubeconfig, port, caBundle, name = 'levee', config = {} }) {
  const condition = mutateCondition(buildConfig(config).policies['spot-capacity']);
  const rendered = kubectl(kubeconfig, ['kustomize', 'manifests/overlays/dev']);
  return manifestObjects(rendered, 'kubectl kustomize manifests/overlays/dev')
    .map((object) => {
      if (!object.kind.endsWith('WebhookConfiguration')) return object;
      object.metadata.name = name;
      for (const webhook of object.webhooks ?? []) {
        const url = new URL(webhook.clientConfig.url);
        url.port = String(port);
        webhook.clientConfig.url = url.toString();
        webhook.clientConfig.caBundle = caBundle;
      }
      const registered = registeredMutateCondition(object.webhooks ?? []);
      if (registered) registered.expression = condition.expression;
      return object;
    });
}

export function registerDevWebhooks(options) {
  const objects = renderDevWebhooks(options);
  kubectl(options.kubeconfig, ['apply', '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') });
  return objects.map((object) => `${object.kind}/${object.metadata.name}`);
}

export function unregisterDevWebhooks({ kubeconfig, name = 'levee' }) {
  kubectl(kubeconfig, ['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', name, '--ignore-not-found']);
}
