import { X509Certificate } from 'node:crypto';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { conditionPatch, MUTATE_WEBHOOK, type MatchCondition, type PatchOperation, type RegisteredWebhook } from '../policies/mutate-condition.js';
import type { ApiResponse, KubeApi } from '../probe/kube-api.js';
import {
  CA_BUNDLE,
  SERVING_CERT,
  SERVING_KEY,
  issueCertificates,
  planRenewal,
  readCertificateData,
  type ReadCertificates,
  type ServingSpec,
} from './authority.js';

/**
 * levee's own serving certificate (server.certificates.source: self), kept in one Secret that
 * every replica reads and any replica may renew, with the CA injected into levee's own webhook
 * configurations, named one by one. Each replica, every interval:
 *
 *   1. reads the Secret; an empty one, or one whose certificates are unusable or due for
 *      renewal, gets new ones, written with the resourceVersion it read: of two replicas
 *      writing at once, one wins and the other (409 Conflict) reads and uses the winner's;
 *   2. sets the CA bundle into every webhook of the named configurations that lacks it
 *      (a JSON patch that tests the resourceVersion and each webhook's name first);
 *   3. serves the Secret's pair from then on, without a restart. A pair signed by a new CA is
 *      served only once the configurations have trusted that CA for NEW_CA_GRACE_MS, so no
 *      replica presents a certificate the API server cannot verify yet.
 *
 * levee needs get and update on that Secret and get and patch on those configurations, by
 * name; it cannot create the Secret (create cannot be limited to a name): the chart and
 * manifests/base create it empty.
 */

/** Marks a Secret whose certificates levee wrote: only such a Secret, or an empty one, is (re)written. */
export const MANAGED_ANNOTATION = 'levee.dev/certificates';
export const MANAGED_VALUE = 'self-managed';

export interface WebhookConfigurationNames {
  validating: string[];
  mutating: string[];
}

/** The calls this needs: a KubeApi, or a double of it in tests. */
export type CertificatesApi = Pick<KubeApi, 'get' | 'put' | 'request'>;

export interface SelfManagedOptions {
  api: CertificatesApi;
  namespace: string;
  secretName: string;
  spec: ServingSpec;
  webhooks: WebhookConfigurationNames;
  /** The /mutate condition levee's configuration renders, kept on the mutating configurations' `mutate.levee.dev` (policies/mutate-condition.ts). */
  mutateCondition?: MatchCondition;
  logger: Logger;
  intervalMs: number;
  /** A new pair to serve: the first, and each rotation. */
  onPair: (pair: ServedPair) => void;
  now?: () => Date;
}

export interface ServedPair {
  cert: Buffer;
  key: Buffer;
  /** The CA that signed the serving certificate (PEM). */
  issuer: string;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

interface WebhookConfiguration {
  metadata: { name: string; resourceVersion?: string };
  webhooks?: Array<RegisteredWebhook & { clientConfig?: { caBundle?: string } }>;
}

const ATTEMPTS = 4;
/**
 * The API server applies a changed webhook configuration from its watch, a moment after the
 * patch returns: a pair signed by a new CA is served only once its CA has been trusted this
 * long, so no new connection meets a certificate the API server cannot verify yet.
 */
export const NEW_CA_GRACE_MS = 3000;

export interface SelfManagedCertificates {
  /** The pair served now. */
  current(): ServedPair;
  /** Reads, renews and injects once (the timer does this every interval). */
  reconcile(): Promise<void>;
  stop(): void;
}

/**
 * Reads (and when needed writes) the Secret and the configurations once, then keeps doing so
 * every interval. Rejects with a CERTS_SECRET error when the Secret is missing, unreadable
 * for levee's identity, or holds data levee did not write: serve must not start without a
 * certificate it can stand behind.
 */
export async function startSelfManagedCertificates(options: SelfManagedOptions): Promise<SelfManagedCertificates> {
  const { api, logger } = options;
  const now = options.now ?? (() => new Date());
  const secretPath = `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets/${encodeURIComponent(options.secretName)}`;
  const secretName = `${options.namespace}/${options.secretName}`;
  let served: ServedPair | undefined;
  let lastProblem = '';
  /** When this replica first saw the configurations trust a CA (PEM), for the grace above. */
  let trusted: { issuer: string; since: number } | undefined;

  const readSecret = async (): Promise<SecretObject> => {
    const response = await api.get<SecretObject>(secretPath);
    if (response.status === 404) {
      throw new LeveeError('CERTS_SECRET', `the Secret ${secretName} does not exist: create it empty (the chart and manifests/base do); levee is not allowed to create Secrets`);
    }
    return expectOk(response, `reading the Secret ${secretName}`).body;
  };

  /** The Secret's certificates, renewed first when due; a lost race reads the winner's. */
  const ensureSecret = async (): Promise<ReadCertificates> => {
    for (let attempt = 1; ; attempt++) {
      const secret = await readSecret();
      const reading = readCertificateData(secret.data);
      // Any data at all, of levee's keys or others, makes a Secret someone's: only levee's own, or an empty one, is written.
      if (Object.keys(secret.data ?? {}).length > 0 && secret.metadata.annotations?.[MANAGED_ANNOTATION] !== MANAGED_VALUE) {
        throw new LeveeError(
          'CERTS_SECRET',
          `the Secret ${secretName} holds ${Object.keys(secret.data ?? {}).sort().join(', ')} that levee did not write (no ${MANAGED_ANNOTATION}: ${MANAGED_VALUE} annotation): ` +
            'levee replaces only certificates it wrote; empty the Secret, or name another one in server.certificates.secretName',
        );
      }
      const plan = planRenewal(reading, options.spec, now());
      if (plan.action === 'keep' && reading.state === 'readable') return reading.certificates;
      if (plan.action === 'keep') throw new Error('unreachable: a kept Secret is readable');
      if (reading.state === 'corrupt') logger.warn({ secret: secretName, problem: reading.problem }, 'the self-managed certificates are unusable; replacing them');
      const data = issueCertificates(reading, plan, options.spec, now(), served ? [new X509Certificate(served.issuer)] : []);
      const updated: SecretObject = {
        ...secret,
        metadata: { ...secret.metadata, annotations: { ...secret.metadata.annotations, [MANAGED_ANNOTATION]: MANAGED_VALUE } },
        data: { ...secret.data, ...Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])) },
      };
      const response = await api.put<SecretObject>(secretPath, updated);
      if (response.status === 409 && attempt < ATTEMPTS) {
        logger.info({ secret: secretName }, 'another replica wrote the certificates first; using theirs');
        continue;
      }
      const written = readCertificateData(expectOk(response, `writing the Secret ${secretName}`).body.data);
      if (written.state !== 'readable') throw new LeveeError('CERTS_SECRET', `the Secret ${secretName} did not keep the certificates written to it`);
      logger.info({ secret: secretName, reason: plan.reason, renewedCa: plan.renewCa, notAfter: written.certificates.serving.validTo }, 'serving certificate issued');
      return written.certificates;
    }
  };

  /**
   * Puts the CA bundle into every webhook of the named configurations, and the configuration's
   * /mutate condition into the mutating ones; a missing configuration is skipped.
   */
  const injectCaBundle = async (bundle: string): Promise<void> => {
    const caBundle = Buffer.from(bundle).toString('base64');
    const kinds: Array<{ name: string; plural: string; condition?: MatchCondition | undefined }> = [
      ...options.webhooks.validating.map((name) => ({ name, plural: 'validatingwebhookconfigurations' })),
      ...options.webhooks.mutating.map((name) => ({ name, plural: 'mutatingwebhookconfigurations', condition: options.mutateCondition })),
    ];
    for (const { name, plural, condition } of kinds) {
      const path = `/apis/admissionregistration.k8s.io/v1/${plural}/${encodeURIComponent(name)}`;
      for (let attempt = 1; ; attempt++) {
        const response = await api.get<WebhookConfiguration>(path);
        if (response.status === 404) {
          logger.warn({ configuration: `${plural}/${name}` }, 'webhook configuration not found; its caBundle is set once it exists');
          break;
        }
        const configuration = expectOk(response, `reading ${plural}/${name}`, 'CERTS_WEBHOOKS').body;
        const bundleOps = caBundleOperations(configuration, caBundle);
        const conditionOps = condition ? conditionPatch(configuration.webhooks ?? [], MUTATE_WEBHOOK, condition) : [];
        const patch = withResourceVersion(configuration, [...bundleOps, ...conditionOps]);
        if (patch.length === 0) break;
        const patched = await api.request(`PATCH`, path, { body: patch, contentType: 'application/json-patch+json' });
        if (patched.status >= 200 && patched.status < 300) {
          if (bundleOps.length > 0) logger.info({ configuration: `${plural}/${name}`, webhooks: bundleOps.length / 2 }, 'CA bundle injected');
          if (conditionOps.length > 0) logger.info({ configuration: `${plural}/${name}`, webhook: MUTATE_WEBHOOK, condition: condition?.name }, 'match condition set from the configuration');
          break;
        }
        // A test op that failed: the configuration changed since it was read (helm upgrade, another replica).
        if ((patched.status === 409 || patched.status === 422) && attempt < ATTEMPTS) continue;
        expectOk(patched, `patching the caBundle of ${plural}/${name}`, 'CERTS_WEBHOOKS');
      }
    }
  };

  const reconcile = async (): Promise<void> => {
    const certificates = await ensureSecret();
    const next: ServedPair = {
      cert: Buffer.from(certificates.data[SERVING_CERT]),
      key: Buffer.from(certificates.data[SERVING_KEY]),
      issuer: certificates.ca.toString(),
    };
    try {
      await injectCaBundle(certificates.data[CA_BUNDLE]);
    } catch (err) {
      // The configurations may not trust a new CA yet: keep serving what they trust.
      if (served && served.issuer !== next.issuer) throw err;
      if (served) logger.warn({ err: (err as Error).message }, 'CA bundle not injected; the serving certificate\'s CA is unchanged, so it is served');
      else throw err;
    }
    if (served && served.cert.equals(next.cert) && served.key.equals(next.key)) return;
    if (served && served.issuer !== next.issuer) {
      if (trusted?.issuer !== next.issuer) {
        trusted = { issuer: next.issuer, since: now().getTime() };
        logger.info({ secret: secretName, graceMs: NEW_CA_GRACE_MS }, 'the configurations trust the new CA; its certificate is served once the API server has surely applied them');
      }
      if (now().getTime() - trusted.since < NEW_CA_GRACE_MS) return;
    }
    served = next;
    options.onPair(next);
  };

  await retrying(reconcile, logger);
  const timer = setInterval(() => {
    reconcile().then(
      () => {
        if (lastProblem) logger.info({ secret: secretName }, 'self-managed certificates are in order again');
        lastProblem = '';
      },
      (err: Error) => {
        if (err.message !== lastProblem) logger.error({ err: err.message, secret: secretName }, 'self-managed certificates not checked; serving the last good pair');
        lastProblem = err.message;
      },
    );
  }, options.intervalMs);
  timer.unref();
  return {
    current: () => served!,
    reconcile,
    stop: () => clearInterval(timer),
  };
}

/** Fails fast on what waiting cannot fix (a missing or foreign Secret, a forbidden call); retries what it can for 30 s. */
async function retrying(reconcile: () => Promise<void>, logger: Logger): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await reconcile();
    } catch (err) {
      const permanent = err instanceof LeveeError && (err.code === 'CERTS_SECRET' || /HTTP 40[13]\b/.test(err.message));
      if (permanent || Date.now() > deadline) throw err;
      logger.warn({ err: (err as Error).message }, 'self-managed certificates not ready; retrying');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * The JSON patch that sets `caBundle` on every webhook lacking it, after testing that the
 * configuration and each webhook's position are still the ones read; empty when none lacks it.
 */
export function caBundlePatch(configuration: WebhookConfiguration, caBundle: string): PatchOperation[] {
  return withResourceVersion(configuration, caBundleOperations(configuration, caBundle));
}

/** The operations of caBundlePatch, without the resourceVersion's test. */
function caBundleOperations(configuration: WebhookConfiguration, caBundle: string): PatchOperation[] {
  return (configuration.webhooks ?? []).flatMap((webhook, i): PatchOperation[] =>
    webhook.clientConfig?.caBundle === caBundle
      ? []
      : [
          { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
        ],
  );
}

/** `operations` after a test of the resourceVersion read; empty when there are none. */
function withResourceVersion(configuration: WebhookConfiguration, operations: PatchOperation[]): PatchOperation[] {
  if (operations.length === 0) return [];
  return [{ op: 'test', path: '/metadata/resourceVersion', value: configuration.metadata.resourceVersion }, ...operations];
}

function expectOk<T>(response: ApiResponse<T>, what: string, code: 'CERTS_SECRET' | 'CERTS_WEBHOOKS' = 'CERTS_SECRET'): ApiResponse<T> {
  if (response.status >= 200 && response.status < 300) return response;
  const detail = (response.body as { message?: string } | undefined)?.message ?? response.text.trim().slice(0, 300);
  throw new LeveeError(code, `${what}: HTTP ${response.status}${detail ? `: ${detail}` : ''}`);
}

