import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CA_BUNDLE, CA_KEY, SERVING_CERT, SERVING_KEY } from '../../../src/certs/authority.js';
import {
  MANAGED_ANNOTATION,
  MANAGED_VALUE,
  NEW_CA_GRACE_MS,
  caBundlePatch,
  startSelfManagedCertificates,
  type CertificatesApi,
  type SelfManagedOptions,
  type ServedPair,
} from '../../../src/certs/self-managed.js';
import { buildConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { MUTATE_CONDITION_NAME, mutateCondition } from '../../../src/policies/mutate-condition.js';
import type { ApiResponse, RequestOptionsExtra } from '../../../src/probe/kube-api.js';

type Json = Record<string, unknown>;
interface Stored {
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  webhooks?: Array<{ name: string; clientConfig: { url?: string; caBundle?: string }; matchConditions?: Array<{ name: string; expression: string }> }>;
}

const SECRET = '/api/v1/namespaces/levee-system/secrets/levee-tls';
const VALIDATING = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/levee';
const MUTATING = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/levee';

/**
 * The API server as far as these calls go: objects with resourceVersions, a PUT that must
 * carry the current one (409 otherwise), and JSON patches of `test`, `add` and `replace` (422 when a test
 * fails). `hooks` change an answer or the store before one, to stage races and faults.
 */
class FakeApi implements CertificatesApi {
  readonly objects = new Map<string, Stored>();
  readonly calls: string[] = [];
  version = 1;
  before: (method: string, path: string) => ApiResponse | undefined = () => undefined;

  put(path: string, body: unknown): Promise<ApiResponse<never>> {
    return this.request('PUT', path, { body });
  }

  get(path: string): Promise<ApiResponse<never>> {
    return this.request('GET', path);
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    this.calls.push(`${method} ${path}`);
    await new Promise((resolve) => setImmediate(resolve));
    const staged = this.before(method, path);
    if (staged) return staged as ApiResponse<T>;
    const stored = this.objects.get(path);
    if (!stored) return answer(404, { message: `${path} not found` });
    if (method === 'GET') return answer(200, structuredClone(stored));
    if (method === 'PUT') {
      const body = structuredClone(options.body) as Stored;
      if (body.metadata.resourceVersion !== stored.metadata.resourceVersion) return answer(409, { message: 'the object has been modified' });
      return answer(200, this.store(path, body));
    }
    if (method === 'PATCH') {
      assert.equal(options.contentType, 'application/json-patch+json');
      const next = structuredClone(stored) as unknown as Json;
      for (const op of options.body as Array<{ op: string; path: string; value: unknown }>) {
        const keys = op.path.split('/').slice(1);
        const last = keys.pop()!;
        const parent = keys.reduce<Json>((node, key) => node[key] as Json, next);
        if (op.op === 'test' && parent[last] !== op.value) return answer(422, { message: `test of ${op.path} failed` });
        if (op.op === 'replace' && !(last in parent)) return answer(422, { message: `replace of a missing ${op.path}` });
        if (op.op === 'add' || op.op === 'replace') parent[last] = op.value;
      }
      return answer(200, this.store(path, next as unknown as Stored));
    }
    return answer(405, {});
  }

  store(path: string, object: Stored): Stored {
    object.metadata.resourceVersion = String(++this.version);
    this.objects.set(path, object);
    return structuredClone(object);
  }

  secret(): Stored {
    return this.objects.get(SECRET)!;
  }

  bundles(): string[] {
    return [VALIDATING, MUTATING].flatMap((path) => (this.objects.get(path)?.webhooks ?? []).map((webhook) => webhook.clientConfig.caBundle ?? ''));
  }
}

function answer<T>(status: number, body: unknown): ApiResponse<T> {
  return { status, body: body as T, text: JSON.stringify(body) };
}

/** A cluster with levee's two configurations and the Secret as given (null: no Secret). */
function cluster(secret: Partial<Stored> | null = {}): FakeApi {
  const api = new FakeApi();
  if (secret) api.store(SECRET, { metadata: { name: 'levee-tls', resourceVersion: '', ...secret.metadata }, ...(secret.data ? { data: secret.data } : {}) });
  const webhooks = (...names: string[]) => names.map((name) => ({ name, clientConfig: { url: `https://127.0.0.1:8443/${name}` } }));
  api.store(VALIDATING, { metadata: { name: 'levee', resourceVersion: '' }, webhooks: webhooks('validate.levee.dev', 'validate-nodes.levee.dev') });
  api.store(MUTATING, { metadata: { name: 'levee', resourceVersion: '' }, webhooks: webhooks('mutate.levee.dev') });
  return api;
}

interface Started {
  pairs: ServedPair[];
  logs: Array<{ msg: string; level: number } & Json>;
  clock: { now: Date };
}

function options(api: FakeApi, started: Started): SelfManagedOptions {
  return {
    api,
    namespace: 'levee-system',
    secretName: 'levee-tls',
    spec: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], caValiditySeconds: 3600, servingValiditySeconds: 900 },
    webhooks: { validating: ['levee'], mutating: ['levee'] },
    logger: createLogger('info', { write: (line: string) => void started.logs.push(JSON.parse(line) as Started['logs'][number]) }),
    intervalMs: 3_600_000,
    onPair: (pair) => started.pairs.push(pair),
    now: () => started.clock.now,
  };
}

const newStarted = (): Started => ({ pairs: [], logs: [], clock: { now: new Date('2026-11-30T06:00:00Z') } });
const decoded = (api: FakeApi, key: string): string => Buffer.from(api.secret().data![key]!, 'base64').toString();
const fingerprint = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint256;

describe('certs/self-managed: one Secret, every replica, levee\'s own webhook configurations', () => {
  it('fills an empty Secret, marks it levee\'s, injects the CA into every webhook of both configurations and serves the pair', async () => {
    const api = cluster();
    const started = newStarted();
    const certificates = await startSelfManagedCertificates(options(api, started));
    certificates.stop();
    assert.equal(api.secret().metadata.annotations?.[MANAGED_ANNOTATION], MANAGED_VALUE);
    assert.deepEqual(Object.keys(api.secret().data!).sort(), [CA_BUNDLE, CA_KEY, SERVING_CERT, SERVING_KEY].sort());
    const bundle = api.secret().data![CA_BUNDLE]!;
    assert.deepEqual(api.bundles(), [bundle, bundle, bundle]);
    assert.equal(started.pairs.length, 1);
    assert.equal(started.pairs[0]!.cert.toString(), decoded(api, SERVING_CERT));
    assert.equal(started.pairs[0]!.key.toString(), decoded(api, SERVING_KEY));
    assert.equal(certificates.current(), started.pairs[0]);
    assert.ok(new X509Certificate(started.pairs[0]!.cert).checkIP('127.0.0.1'));
    // Nothing to do the next time round: one GET of each object, no write.
    api.calls.length = 0;
    await certificates.reconcile();
    assert.deepEqual(api.calls, [`GET ${SECRET}`, `GET ${VALIDATING}`, `GET ${MUTATING}`]);
    assert.equal(started.pairs.length, 1);
  });

  it('two replicas starting at once on the empty Secret end with one CA and the same pair: the loser of the write reads the winner\'s', async () => {
    const api = cluster();
    const [a, b] = [newStarted(), newStarted()];
    const both = await Promise.all([startSelfManagedCertificates(options(api, a)), startSelfManagedCertificates(options(api, b))]);
    for (const certificates of both) certificates.stop();
    assert.equal(api.calls.filter((call) => call.startsWith('PUT')).length, 2, 'both tried to write');
    assert.equal(a.pairs[0]!.cert.toString(), b.pairs[0]!.cert.toString());
    assert.equal(a.pairs[0]!.cert.toString(), decoded(api, SERVING_CERT));
    assert.ok([...a.logs, ...b.logs].some((line) => line.msg === 'another replica wrote the certificates first; using theirs'));
    assert.deepEqual(new Set(api.bundles()), new Set([api.secret().data![CA_BUNDLE]]));
  });

  it('renews the serving certificate ahead of expiry on a later check and hands the new pair over, CA and caBundle unchanged', async () => {
    const api = cluster();
    const started = newStarted();
    const certificates = await startSelfManagedCertificates(options(api, started));
    certificates.stop();
    const bundle = api.secret().data![CA_BUNDLE];
    started.clock.now = new Date(started.clock.now.getTime() + 601_000);
    api.calls.length = 0;
    await certificates.reconcile();
    assert.equal(started.pairs.length, 2);
    assert.notEqual(fingerprint(started.pairs[1]!.cert), fingerprint(started.pairs[0]!.cert));
    assert.equal(api.secret().data![CA_BUNDLE], bundle);
    assert.equal(api.calls.filter((call) => call.startsWith('PATCH')).length, 0, 'the configurations already trust the CA');
  });

  it('a replica that did not renew picks up another replica\'s rotation from the Secret', async () => {
    const api = cluster();
    const [a, b] = [newStarted(), newStarted()];
    b.clock = a.clock;
    const first = await startSelfManagedCertificates(options(api, a));
    const second = await startSelfManagedCertificates(options(api, b));
    first.stop();
    second.stop();
    a.clock.now = new Date(a.clock.now.getTime() + 601_000);
    await first.reconcile();
    await second.reconcile();
    assert.equal(b.pairs.length, 2);
    assert.equal(b.pairs[1]!.cert.toString(), a.pairs[1]!.cert.toString());
  });

  it('serves a pair signed by a new CA only once the configurations have trusted it for a few seconds', async () => {
    const api = cluster();
    const started = newStarted();
    const certificates = await startSelfManagedCertificates(options(api, started));
    certificates.stop();
    started.clock.now = new Date(started.clock.now.getTime() + 2401_000);
    api.before = (method) => (method === 'PATCH' ? answer(500, { message: 'etcdserver: request timed out' }) : undefined);
    await assert.rejects(certificates.reconcile(), /patching the caBundle of validatingwebhookconfigurations\/levee: HTTP 500: etcdserver: request timed out/);
    assert.equal(started.pairs.length, 1, 'still the first pair');
    const bundle = decoded(api, CA_BUNDLE);
    assert.equal((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'the Secret holds the new CA and the old one');
    api.before = () => undefined;
    await certificates.reconcile();
    assert.deepEqual(new Set(api.bundles()), new Set([api.secret().data![CA_BUNDLE]]));
    assert.equal(started.pairs.length, 1, 'not while the API server may still be applying the new caBundle');
    started.clock.now = new Date(started.clock.now.getTime() + NEW_CA_GRACE_MS - 1);
    await certificates.reconcile();
    assert.equal(started.pairs.length, 1);
    started.clock.now = new Date(started.clock.now.getTime() + 1);
    await certificates.reconcile();
    assert.equal(started.pairs.length, 2);
    assert.deepEqual(new Set(api.bundles()), new Set([api.secret().data![CA_BUNDLE]]));
    assert.equal(fingerprint(started.pairs[1]!.issuer), fingerprint(bundle));
    assert.ok(new X509Certificate(started.pairs[1]!.cert).verify(new X509Certificate(bundle).publicKey));
  });

  it('patches again when a configuration changed between its read and the patch (a helm upgrade, another replica)', async () => {
    const api = cluster();
    let raced = false;
    api.before = (method, path) => {
      if (method === 'PATCH' && path === VALIDATING && !raced) {
        raced = true;
        const stored = api.objects.get(VALIDATING)!;
        api.store(VALIDATING, { ...stored, webhooks: [...stored.webhooks!].reverse() });
      }
      return undefined;
    };
    const certificates = await startSelfManagedCertificates(options(api, newStarted()));
    certificates.stop();
    assert.ok(raced);
    assert.equal(api.calls.filter((call) => call === `PATCH ${VALIDATING}`).length, 2);
    assert.deepEqual(new Set(api.bundles()), new Set([api.secret().data![CA_BUNDLE]]));
  });

  it('replaces a corrupt Secret that levee wrote, saying why', async () => {
    const api = cluster({ metadata: { name: 'levee-tls', resourceVersion: '', annotations: { [MANAGED_ANNOTATION]: MANAGED_VALUE } }, data: { [CA_BUNDLE]: 'bm90IGEgY2VydA==', [CA_KEY]: 'eA==', [SERVING_CERT]: 'eA==', [SERVING_KEY]: 'eA==' } });
    const started = newStarted();
    const certificates = await startSelfManagedCertificates(options(api, started));
    certificates.stop();
    assert.ok(started.logs.some((line) => line.msg === 'the self-managed certificates are unusable; replacing them' && /ca\.crt holds no PEM certificate/.test(String(line.problem))), JSON.stringify(started.logs));
    assert.equal(started.pairs.length, 1);
    assert.equal(started.pairs[0]!.cert.toString(), decoded(api, SERVING_CERT));
  });

  it('keeps trusting the CA it serves with when the Secret is emptied under it, until the new pair is served', async () => {
    const api = cluster();
    const started = newStarted();
    const certificates = await startSelfManagedCertificates(options(api, started));
    certificates.stop();
    const first = started.pairs[0]!;
    api.store(SECRET, { ...api.secret(), data: {} });
    await certificates.reconcile();
    const bundle = decoded(api, CA_BUNDLE).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    assert.equal(bundle.length, 2);
    assert.equal(fingerprint(bundle[1]!), fingerprint(first.issuer), 'the CA of the pair still served stays in the bundle');
    assert.deepEqual(new Set(api.bundles()), new Set([api.secret().data![CA_BUNDLE]]));
    assert.equal(certificates.current(), first, 'still the first pair during the grace');
  });

  it('refuses, unchanged, a Secret holding data levee did not write, and a missing Secret, with what to do', async () => {
    const foreign = { [SERVING_CERT]: 'c29tZW9uZSBlbHNlJ3M=', 'password': 'aHVudGVyMg==' };
    const api = cluster({ data: foreign });
    await assert.rejects(startSelfManagedCertificates(options(api, newStarted())), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CERTS_SECRET');
      assert.match(err.message, /levee-system\/levee-tls holds password, tls\.crt that levee did not write .*empty the Secret, or name another one in server\.certificates\.secretName/);
      return true;
    });
    assert.deepEqual(api.secret().data, foreign);
    assert.equal(api.calls.some((call) => !call.startsWith('GET')), false);
    // None of levee's keys, only someone else's: still not levee's to write.
    const unrelated = cluster({ data: { password: 'aHVudGVyMg==' } });
    await assert.rejects(startSelfManagedCertificates(options(unrelated, newStarted())), /levee-system\/levee-tls holds password that levee did not write/);
    assert.deepEqual(unrelated.secret().data, { password: 'aHVudGVyMg==' });
    assert.equal(unrelated.calls.some((call) => !call.startsWith('GET')), false);
    await assert.rejects(startSelfManagedCertificates(options(cluster(null), newStarted())), /Secret levee-system\/levee-tls does not exist: create it empty .* not allowed to create Secrets/);
  });

  it('fails at once, with the API server\'s words, when levee may not read the Secret', async () => {
    const api = cluster();
    api.before = () => answer(403, { message: 'secrets "levee-tls" is forbidden: User "system:serviceaccount:levee-system:levee" cannot get resource "secrets"' });
    const begun = Date.now();
    await assert.rejects(startSelfManagedCertificates(options(api, newStarted())), /reading the Secret levee-system\/levee-tls: HTTP 403: secrets "levee-tls" is forbidden/);
    assert.ok(Date.now() - begun < 900, 'no retrying a forbidden call');
  });

  it('skips a configuration that does not exist yet, with a warning, and still serves', async () => {
    const api = cluster();
    api.objects.delete(MUTATING);
    const started = newStarted();
    const certificates = await startSelfManagedCertificates(options(api, started));
    certificates.stop();
    assert.equal(started.pairs.length, 1);
    assert.ok(started.logs.some((line) => line.msg === 'webhook configuration not found; its caBundle is set once it exists' && line.configuration === 'mutatingwebhookconfigurations/levee'));
  });

  it('keeps the /mutate condition its configuration renders on mutate.levee.dev, in the same patch as the bundle, and nothing else', async () => {
    const api = cluster();
    const mutating = api.objects.get(MUTATING)!;
    const other = { name: 'installer-own', expression: 'true' };
    mutating.webhooks![0]!.matchConditions = [other, { name: MUTATE_CONDITION_NAME, expression: 'stale' }];
    api.objects.get(VALIDATING)!.webhooks![0]!.matchConditions = [{ name: MUTATE_CONDITION_NAME, expression: 'stale' }];
    const started = newStarted();
    const condition = mutateCondition(buildConfig({ policies: { 'spot-capacity': { critical: { namespaces: ['ledger-prod'] } } } }).policies['spot-capacity']);
    const certificates = await startSelfManagedCertificates({ ...options(api, started), mutateCondition: condition });
    certificates.stop();
    assert.deepEqual(api.objects.get(MUTATING)!.webhooks![0]!.matchConditions, [other, condition]);
    assert.match(condition.expression, /request\.namespace in \["ledger-prod"\]/);
    // A validating webhook is not /mutate: its condition of the same name is left as it is.
    assert.deepEqual(api.objects.get(VALIDATING)!.webhooks![0]!.matchConditions, [{ name: MUTATE_CONDITION_NAME, expression: 'stale' }]);
    assert.equal(api.calls.filter((call) => call === `PATCH ${MUTATING}`).length, 1, 'bundle and condition in one patch');
    assert.ok(started.logs.some((line) => line.msg === 'match condition set from the configuration'));
    api.calls.length = 0;
    await certificates.reconcile();
    assert.deepEqual(api.calls, [`GET ${SECRET}`, `GET ${VALIDATING}`, `GET ${MUTATING}`], 'nothing to patch the next time round');
  });

  it('never adds the /mutate condition to a registration that does not carry it (the installer removed it)', async () => {
    const api = cluster();
    const started = newStarted();
    const condition = mutateCondition(buildConfig().policies['spot-capacity']);
    const certificates = await startSelfManagedCertificates({ ...options(api, started), mutateCondition: condition });
    certificates.stop();
    assert.equal(api.objects.get(MUTATING)!.webhooks![0]!.matchConditions, undefined);
    assert.ok(api.bundles().every((bundle) => bundle !== ''));
  });

  it('patches only the webhooks that lack the bundle, after testing the resourceVersion and their names', () => {
    const configuration = { metadata: { name: 'levee', resourceVersion: '7' }, webhooks: [{ name: 'a', clientConfig: { caBundle: 'Q0E=' } }, { name: 'b', clientConfig: {} }] };
    assert.deepEqual(caBundlePatch(configuration, 'Q0E='), [
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'test', path: '/webhooks/1/name', value: 'b' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: 'Q0E=' },
    ]);
    assert.deepEqual(caBundlePatch({ ...configuration, webhooks: [configuration.webhooks[0]!] }, 'Q0E='), []);
  });
});
