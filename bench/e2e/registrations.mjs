// Registering one target at a time with the API server. levee and the sidecar register levee's
// own webhook configurations (the dev overlay's), Gatekeeper its validating webhook; "no
// webhook" registers nothing. Every target is registered through a Service, as an install
// registers it: an ExternalName Service in the `default` namespace naming 127.0.0.1, with the
// target's port as the webhook's service port. Through a Service the API server's webhook client
// speaks HTTP/1.1 whatever the server offers (k8s.io/apiserver/pkg/util/webhook/client.go), and
// over a URL to a loopback address it would take HTTP/2 from a server that offers it
// (Gatekeeper does, levee does not): registering by URL would measure the two over different
// protocols, neither of them the one they are called with in a cluster. Before a target is
// measured, the bench removes every registration, waits until the API server stops calling
// webhooks (a server-side dry-run scale to zero of Deployment `checkout` is allowed), registers
// the target and waits until the API server calls it (the same dry-run is refused).
import { stringify } from 'yaml';
import { renderDevWebhooks } from '../../scripts/lib/webhooks.mjs';
import { gatekeeperWebhook } from './gatekeeper.mjs';
import { kubectl, waitFor } from './kube.mjs';

const TARGET_LABEL = 'bench.levee.dev/target';
const SERVICE_NAMESPACE = 'default';

/** The DNS name the API server expects on the serving certificate of the target behind Service `name`. */
export const serviceDnsName = (name) => `${name}.${SERVICE_NAMESPACE}.svc`;

/** An ExternalName Service that sends the API server's webhook calls for `name` to 127.0.0.1. */
export function benchService(name) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: SERVICE_NAMESPACE, labels: { [TARGET_LABEL]: 'service' } },
    spec: { type: 'ExternalName', externalName: '127.0.0.1' },
  };
}

/** Each webhook's clientConfig pointed at Service `service` on `port`, keeping its path and CA. */
function throughService(objects, { service, port, caBundle }) {
  for (const object of objects) {
    for (const webhook of object.webhooks ?? []) {
      const path = webhook.clientConfig.url ? new URL(webhook.clientConfig.url).pathname : webhook.clientConfig.service.path;
      webhook.clientConfig = { service: { name: service, namespace: SERVICE_NAMESPACE, port, path }, caBundle };
    }
  }
  return objects;
}

/** levee's webhook configurations pointed at Service `service` on `port`; without matchConditions when `conditions` is false. */
export function leveeWebhooks({ kubeconfig, service, port, caBundle, key, conditions = true }) {
  const objects = renderDevWebhooks({ kubeconfig, port, caBundle, name: `bench-${key}` })
    .filter((object) => object.kind.endsWith('WebhookConfiguration'))
    .map((object) => {
      object.metadata.labels = { ...(object.metadata.labels ?? {}), [TARGET_LABEL]: key };
      if (!conditions) for (const webhook of object.webhooks) delete webhook.matchConditions;
      return object;
    });
  return throughService(objects, { service, port, caBundle });
}

export function gatekeeperWebhooks({ service, port, caBundle }) {
  return throughService([gatekeeperWebhook({ port, caBundle, name: 'bench-gatekeeper' })], { service, port, caBundle });
}

export function unregisterAll(kubeconfig) {
  kubectl(kubeconfig, ['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', '-l', TARGET_LABEL, '--ignore-not-found', '--wait=true']);
}

/** The answer to a server-side dry-run scale of `checkout` to 0: 200 with no webhook, 403 from any target. */
async function probeScale(api, namespace) {
  const answer = await api.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/checkout/scale?dryRun=All`, { spec: { replicas: 0 } }, { contentType: 'application/merge-patch+json' });
  return answer.status;
}

/** Makes `target` the only registered webhook and waits until the API server calls it. */
export async function switchTo({ kubeconfig, api, namespace, target }) {
  unregisterAll(kubeconfig);
  await waitFor('the API server to stop calling webhooks', async () => (await probeScale(api, namespace)) === 200, 60_000);
  if (target.webhooks.length === 0) return;
  kubectl(kubeconfig, ['apply', '-f', '-'], { input: target.webhooks.map((object) => stringify(object)).join('---\n') });
  await waitFor(`the API server to call ${target.name}`, async () => (await probeScale(api, namespace)) === 403, 60_000);
}
