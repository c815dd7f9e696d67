// Registering one target at a time with the API server. levee and the sidecar register levee's
// own webhook configurations (the dev overlay, URL webhooks to 127.0.0.1), Gatekeeper its
// validating webhook; "no webhook" registers nothing. Before a target is measured, the bench
// removes every registration, waits until the API server stops calling webhooks (a server-side
// dry-run scale to zero of Deployment `checkout` is allowed), registers the target and waits
// until the API server calls it (the same dry-run is refused).
import { stringify } from 'yaml';
import { renderDevWebhooks } from '../../scripts/lib/webhooks.mjs';
import { gatekeeperWebhook } from './gatekeeper.mjs';
import { kubectl, waitFor } from './kube.mjs';

const TARGET_LABEL = 'bench.levee.dev/target';

/** levee's webhook configurations pointed at `port`; without matchConditions when `conditions` is false. */
export function leveeWebhooks({ kubeconfig, port, caBundle, key, conditions = true }) {
  return renderDevWebhooks({ kubeconfig, port, caBundle, name: `bench-${key}` })
    .filter((object) => object.kind.endsWith('WebhookConfiguration'))
    .map((object) => {
      object.metadata.labels = { ...(object.metadata.labels ?? {}), [TARGET_LABEL]: key };
      if (!conditions) for (const webhook of object.webhooks) delete webhook.matchConditions;
      return object;
    });
}

export function gatekeeperWebhooks({ port, caBundle }) {
  return [gatekeeperWebhook({ port, caBundle, name: 'bench-gatekeeper' })];
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
