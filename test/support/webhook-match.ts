import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { AdmissionRequest, KubeObject, UserInfo } from '../../src/kube/types.js';

/** levee's webhook registrations as the base install and the dev overlay ship them. */
export const SHIPPED_WEBHOOKS = 'manifests/components/webhooks/webhooks.yaml';

/** What tools/webhook-match says of one webhook entry for one request, as k8s.io/apiserver decides it. */
export interface WebhookMatchCall {
  configuration: string;
  webhook: string;
  type: 'validating' | 'mutating';
  path: string;
  /** The namespace and object selectors take the request. */
  selected: boolean;
  /** One of the entry's rules matches the request. */
  rules: boolean;
  conditions: 'match' | 'skip' | 'error';
  failedCondition?: string;
  error?: string;
}

/** The shipped ValidatingWebhookConfiguration and MutatingWebhookConfiguration, parsed. */
export function shippedWebhookConfigurations<T = unknown>(): T[] {
  return parseAllDocuments(readFileSync(SHIPPED_WEBHOOKS, 'utf8')).map((doc) => doc.toJSON() as T);
}

function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...(input === undefined ? {} : { input }) });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

let tool: string | undefined;

/**
 * Runs kube-apiserver's own rules and matchConditions matcher (tools/webhook-match, built once
 * per process, cached across runs) over `requests` against `configurations`: per request, what
 * each webhook entry of each configuration does with it.
 */
export function matchWebhooks(configurations: unknown[], requests: unknown[]): WebhookMatchCall[][] {
  tool ??= run('tools/build.sh', ['webhook-match']).trim();
  const answer = JSON.parse(run(tool, [], JSON.stringify({ configurations, requests }))) as { results: Array<{ calls: WebhookMatchCall[] }> };
  return answer.results.map((result) => result.calls);
}

interface ValidatingConfiguration {
  kind?: string;
  webhooks?: Array<{ name: string; failurePolicy?: string }>;
}

/** The validating entries among `configurations` that fail closed (failurePolicy Fail), by name. */
export function failClosedValidatingEntries(configurations: unknown[]): Set<string> {
  return new Set(
    (configurations as ValidatingConfiguration[])
      .filter((configuration) => configuration.kind === 'ValidatingWebhookConfiguration')
      .flatMap((configuration) => (configuration.webhooks ?? []).filter((webhook) => webhook.failurePolicy === 'Fail').map((webhook) => webhook.name)),
  );
}

/**
 * Whether the API server calls /validate, on an entry of `failClosed`, for the request these
 * calls are the matcher's answer to: where the stamp backstop stands.
 */
export function reachesFailClosedValidate(calls: WebhookMatchCall[], failClosed: Set<string>): boolean {
  return calls.some((call) => call.type === 'validating' && call.path === '/validate' && failClosed.has(call.webhook) && call.rules && call.selected && call.conditions === 'match');
}

/** [group, version, kind, resource] of the object a review is about. */
export type ReviewedKind = readonly [group: string, version: string, kind: string, resource: string];

/** The local cluster's admin, who sends the reviews below unless told otherwise. */
export const CLUSTER_ADMIN: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

/**
 * A request as the API server hands it to admission, for the matcher: `operation` of `kind` named
 * `x` in `namespace` ('' for a cluster-scoped object), through `subResource` if given (a `scale`
 * names the Scale kind), sent by `userInfo`.
 */
export function matcherReview(operation: string, [group, version, kind, resource]: ReviewedKind, namespace: string, object: unknown, oldObject: unknown, options: { subResource?: string | undefined; userInfo?: UserInfo } = {}): AdmissionRequest {
  const { subResource, userInfo = CLUSTER_ADMIN } = options;
  return {
    uid: `${operation}-${resource}-${subResource ?? ''}`,
    kind: subResource === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group, version, kind },
    resource: { group, version, resource },
    ...(subResource ? { subResource } : {}),
    name: 'x',
    ...(namespace ? { namespace } : {}),
    operation: operation as AdmissionRequest['operation'],
    userInfo,
    object: object as KubeObject,
    oldObject: oldObject as KubeObject,
    dryRun: false,
  } as AdmissionRequest;
}
