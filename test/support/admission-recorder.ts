import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AdmissionRequest, KubeObject } from '../../src/kube/types.js';
import { e2e, kubectl } from './e2e.js';
import { makeTestCerts } from './https.js';

/**
 * Records the admission requests a controller's identity sends, as the API server sends them
 * to webhooks: levee's own registrations, copied (rules, selectors, match policy, match
 * conditions) and pointed here, tell which requests levee sees; one catch-all registration
 * records everything else the controller writes. A CEL match condition on the username keeps
 * every other client out. The recorder always allows, and fails open.
 */

export interface RecordedRequest {
  /**
   * The API server sends each matching webhook its own AdmissionReview, with its own uid: the
   * same request is recognised by what it asks (operation, resource, object and the version it
   * replaces).
   */
  key: string;
  user: string;
  operation: string;
  /**
   * The writer as the client names itself (options.fieldManager), when it does. Whether it sent
   * a PUT, a PATCH or a server-side apply does not reach webhooks: all three are UPDATE with
   * UpdateOptions.
   */
  fieldManager: string;
  /** How many times the API server sent this same request (a retried write counts each time). */
  count: number;
  /** `group/resource` or `group/resource/subresource`; the core group is empty (`/nodes`). */
  resource: string;
  namespace: string;
  name: string;
  dryRun: boolean;
  /** Whether one of levee's webhooks matched it: levee was asked about this request. */
  levee: boolean;
  /** Field paths that differ between oldObject and object (UPDATE), bookkeeping left out. */
  changes: string[];
  object: KubeObject | null;
  oldObject: KubeObject | null;
}

export interface AdmissionRecorder {
  requests(filter?: Partial<Pick<RecordedRequest, 'user' | 'operation' | 'resource' | 'name' | 'levee'>>): RecordedRequest[];
  /** One line per distinct request shape with its count, sorted: what the report quotes. */
  summary(): string[];
  stop(): Promise<void>;
}

interface WebhookEntry {
  name: string;
  clientConfig: { url?: string; caBundle?: string };
  rules?: unknown[];
  namespaceSelector?: unknown;
  objectSelector?: unknown;
  matchPolicy?: string;
  matchConditions?: Array<{ name: string; expression: string }>;
  [key: string]: unknown;
}

interface WebhookConfiguration {
  kind: string;
  webhooks?: WebhookEntry[];
}

interface WebhookScripts {
  renderDevWebhooks(options: { kubeconfig: string; port: number; caBundle: string; name: string }): WebhookConfiguration[];
}

const IGNORED_CHANGES = [/^metadata\.(resourceVersion|managedFields|generation)(\.|$)/];

/** The paths at which `after` differs from `before`: objects are walked, anything else compared whole. */
export function changedPaths(before: unknown, after: unknown, path = ''): string[] {
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedPaths(before[key], after[key], path ? `${path}.${key}` : key));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return IGNORED_CHANGES.some((pattern) => pattern.test(path)) ? [] : [path];
}

function resourceOf(request: AdmissionRequest): string {
  const { group, resource } = request.resource;
  return `${group}/${resource}${request.subResource ? `/${request.subResource}` : ''}`;
}

function fieldManagerOf(request: AdmissionRequest): string {
  return (request as { options?: { fieldManager?: string } }).options?.fieldManager ?? '';
}

function requestKey(request: AdmissionRequest): string {
  const { operation, namespace, name, dryRun, object, oldObject } = request;
  const replaces = oldObject?.metadata?.resourceVersion;
  const what = JSON.stringify({ operation, resource: resourceOf(request), namespace, name, dryRun, object, replaces });
  return createHash('sha256').update(what).digest('hex');
}

function celList(users: string[]): string {
  return `[${users.map((user) => `'${user.replace(/'/g, "\\'")}'`).join(', ')}]`;
}

export async function startRecorder(options: { port: number; users: string[]; name: string }): Promise<AdmissionRecorder> {
  const certs = await makeTestCerts();
  const recorded: RecordedRequest[] = [];
  const callsByPath = new Map<string, Map<string, number>>();
  const server: Server = createServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let uid = '';
      try {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: AdmissionRequest };
        const request = review.request;
        uid = request.uid;
        const levee = (req.url ?? '').startsWith('/levee/');
        const key = requestKey(request);
        // Each matching registration is called once per request: the most calls one path got is how often it was sent.
        const path = req.url ?? '';
        const calls = (callsByPath.get(key) ?? new Map<string, number>()).set(path, (callsByPath.get(key)?.get(path) ?? 0) + 1);
        callsByPath.set(key, calls);
        const seen = recorded.find((entry) => entry.key === key);
        if (seen) {
          seen.levee ||= levee;
          seen.count = Math.max(...calls.values());
        } else {
          recorded.push({
            key,
            user: request.userInfo.username,
            operation: request.operation,
            fieldManager: fieldManagerOf(request),
            count: 1,
            resource: resourceOf(request),
            namespace: request.namespace ?? '',
            name: request.name ?? request.object?.metadata?.name ?? '',
            dryRun: request.dryRun === true,
            levee,
            changes: request.operation === 'UPDATE' ? changedPaths(request.oldObject, request.object) : [],
            object: request.object,
            oldObject: request.oldObject ?? null,
          });
        }
      } catch {
        // not an AdmissionReview: answered below all the same
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });

  const repoRoot = process.cwd();
  const scripts = (await import(pathToFileURL(join(repoRoot, 'scripts', 'lib', 'webhooks.mjs')).href)) as WebhookScripts;
  const { kubeconfig } = (await e2e()).cluster;
  const caBundle = Buffer.from(certs.ca).toString('base64');
  const onlyThem = { name: 'recorded-identity', expression: `request.userInfo.username in ${celList(options.users)}` };
  const url = (path: string): string => `https://127.0.0.1:${options.port}${path}`;
  const leveeWebhooks = scripts
    .renderDevWebhooks({ kubeconfig, port: options.port, caBundle, name: options.name })
    .filter((object) => object.kind.endsWith('WebhookConfiguration'))
    .flatMap((object) => object.webhooks ?? []);
  const copies = leveeWebhooks.map((webhook, i) => {
    const { name, clientConfig, matchConditions, reinvocationPolicy: _mutatingOnly, ...rest } = webhook;
    return {
      ...rest,
      name: `levee-${i}.recorder.levee.dev`,
      clientConfig: { url: url(`/levee/${name}`), caBundle },
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      timeoutSeconds: 5,
      matchConditions: [...(matchConditions ?? []), onlyThem],
    };
  });
  const catchAll = {
    name: 'any.recorder.levee.dev',
    admissionReviewVersions: ['v1'],
    clientConfig: { url: url('/any'), caBundle },
    rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*/*'], scope: '*' }],
    failurePolicy: 'Ignore',
    sideEffects: 'None',
    timeoutSeconds: 5,
    matchConditions: [onlyThem],
  };
  const registration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: options.name },
    webhooks: [...copies, catchAll],
  };
  const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(registration) });
  if (applied.code !== 0) {
    server.close();
    throw new Error(`registering the admission recorder failed: ${applied.stderr}`);
  }

  const matches = (entry: RecordedRequest, filter: Partial<RecordedRequest>): boolean =>
    Object.entries(filter).every(([key, value]) => entry[key as keyof RecordedRequest] === value);
  return {
    requests: (filter = {}) => recorded.filter((entry) => matches(entry, filter)),
    summary() {
      const counts = new Map<string, number>();
      for (const entry of recorded) {
        const line = `${entry.user} ${entry.operation} ${entry.resource}${entry.fieldManager ? ` by ${entry.fieldManager}` : ''}${entry.dryRun ? ' (dry-run)' : ''}${entry.levee ? ' [sent to levee]' : ''}${entry.changes.length ? ` changes: ${entry.changes.join(', ')}` : ''}`;
        counts.set(line, (counts.get(line) ?? 0) + entry.count);
      }
      return [...counts].map(([line, count]) => `${count}x ${line}`).sort((a, b) => a.slice(a.indexOf(' ')).localeCompare(b.slice(b.indexOf(' '))));
    },
    async stop() {
      await kubectl(['delete', 'validatingwebhookconfiguration', options.name, '--ignore-not-found']);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
