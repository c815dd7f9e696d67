import type { KubeConfig } from '@kubernetes/client-node';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server } from 'node:https';
import { mutateCondition } from '../policies/mutate-condition.js';
import { startSelfManagedCertificates, type SelfManagedCertificates } from '../certs/self-managed.js';
import type { LeveeConfig } from '../config.js';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { KubeApi } from '../probe/kube-api.js';
import { applyKeyPair, readKeyPair, watchKeyPair, type KeyPair, type TlsFiles } from './tls.js';

/**
 * Where serve's certificate comes from (server.certificates.source): files it reloads when
 * they change, or the Secret levee keeps itself. Either way the listener starts with `initial`
 * and `follow` swaps in each new pair without a restart.
 */
export interface ServingCertificate {
  initial: KeyPair;
  /** Applies every later pair to `server`; returns the function that stops following. */
  follow(server: Server, onReloaded: (pair: KeyPair) => void): () => void;
}

export async function servingCertificate(config: LeveeConfig, logger: Logger, kubeconfig: () => KubeConfig): Promise<ServingCertificate> {
  const { server: settings } = config;
  const files: TlsFiles = {
    certFile: settings.tlsCertFile,
    keyFile: settings.tlsKeyFile,
    ...(settings.clientCAFile ? { clientCAFile: settings.clientCAFile } : {}),
  };
  if (settings.certificates.source === 'files') {
    return { initial: readKeyPair(files), follow: (server, onReloaded) => watchKeyPair(server, files, logger, onReloaded) };
  }
  return selfManaged(config, logger, kubeconfig());
}

async function selfManaged(config: LeveeConfig, logger: Logger, kubeconfig: KubeConfig): Promise<ServingCertificate> {
  const settings = config.server.certificates;
  const clientCAFile = config.server.clientCAFile;
  const readClientCA = (): Buffer | undefined => {
    if (!clientCAFile) return undefined;
    try {
      return readFileSync(clientCAFile);
    } catch (err) {
      throw new LeveeError('TLS_UNREADABLE', `cannot read TLS client CA ${clientCAFile}: ${(err as Error).message}`);
    }
  };
  const namespace = config.leveeNamespace;
  let pair: KeyPair | undefined;
  let apply: (next: KeyPair) => void = () => undefined;
  const certificates: SelfManagedCertificates = await startSelfManagedCertificates({
    api: new KubeApi(kubeconfig, config.kubeClient.requestTimeoutMs, 'certificates'),
    namespace,
    secretName: settings.secretName,
    spec: {
      dnsNames: settings.dnsNames.length > 0 || settings.ipAddresses.length > 0 ? settings.dnsNames : [`levee.${namespace}.svc`, `levee.${namespace}.svc.cluster.local`],
      ipAddresses: settings.ipAddresses,
      caValiditySeconds: settings.caValiditySeconds,
      servingValiditySeconds: settings.servingValiditySeconds,
    },
    webhooks: { validating: settings.validatingWebhookConfigurations, mutating: settings.mutatingWebhookConfigurations },
    mutateCondition: mutateCondition(config.policies['spot-capacity']),
    logger,
    intervalMs: settings.checkIntervalSeconds * 1000,
    onPair: (served) => {
      const clientCA = pair?.clientCA ?? readClientCA();
      pair = { cert: served.cert, key: served.key, ...(clientCA ? { clientCA } : {}) };
      apply(pair);
    },
  });
  return {
    initial: pair!,
    follow(server, onReloaded) {
      apply = (next) => {
        applyKeyPair(server, next);
        onReloaded(next);
        logger.info({ secret: `${namespace}/${settings.secretName}` }, 'serving certificate reloaded');
      };
      // The client CA stays a file (mTLS): a change to it applies with the current pair.
      const onClientCA = (): void => {
        try {
          const clientCA = readClientCA();
          if (!pair || !clientCA || pair.clientCA?.equals(clientCA)) return;
          pair = { ...pair, clientCA };
          apply(pair);
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'client CA not reloaded; keeping the last good one');
        }
      };
      if (clientCAFile) watchFile(clientCAFile, { interval: 1000, persistent: false }, onClientCA);
      return () => {
        certificates.stop();
        if (clientCAFile) unwatchFile(clientCAFile, onClientCA);
      };
    },
  };
}
