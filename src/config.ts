import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, LeveeError } from './errors.js';
import { isRecord } from './kube/fields.js';
import { namespacedName, namespaceName, namespacePatternAndName } from './kube/name-syntax.js';
import { DEFAULT_BUNDLE_PATH } from './package.js';
import { enforcementAction, type EnforcementAction } from './policies/action.js';
import { probeSettings } from './probe/settings.js';
import { reportSettings } from './reports/settings.js';
import { spotCapacitySettings } from './policies/spot-capacity-settings.js';
import { versionSkewSettings } from './policies/version-skew-settings.js';

/**
 * levee's whole configuration: defaults here, then a YAML/JSON file, then flags.
 * Validated once and frozen. Nothing else in levee reads process.env.
 */

/** object and oldObject at etcd's 1.5 MiB each, and 256 KiB for the rest of the review. */
const BODY_LIMIT_BYTES = 2 * 1.5 * 1024 * 1024 + 256 * 1024;

export const POLICY_IDS = ['version-skew', 'scale-to-zero', 'spot-capacity', 'probe-gate', 'probe-on-change'] as const;
export type PolicyId = (typeof POLICY_IDS)[number];

export type { EnforcementAction };

const exemptions = z.strictObject({
  namespaces: z.array(namespaceName).default([]),
  users: z.array(z.string()).default([]),
  groups: z.array(z.string()).default([]),
});

/**
 * Argo CD's application controller, server (UI and API actions) and ApplicationSet controller,
 * and Flux's kustomize and helm controllers, in whatever namespace they run.
 */
export const DEFAULT_AUTOMATION_SERVICE_ACCOUNTS = [
  '*/argocd-application-controller',
  '*/argocd-server',
  '*/argocd-applicationset-controller',
  '*/kustomize-controller',
  '*/helm-controller',
] as const;

const automationIdentities = z.strictObject({
  /** Usernames; `*` matches any run of characters. */
  users: z.array(z.string().min(1)).default([]),
  groups: z.array(z.string().min(1)).default([]),
  /** `namespace/name`; `*` matches any run of characters in either. */
  serviceAccounts: z.array(namespacePatternAndName).default([...DEFAULT_AUTOMATION_SERVICE_ACCOUNTS]),
});

/**
 * The autoscalers whose own scale to zero of a workload gets the `autoscaler-to-zero` rule's
 * action, when an autoscaler object levee caches lets that workload reach zero: the HPA
 * controller (with HPAScaleToZero; `system:kube-controller-manager` itself where it runs
 * without `--use-service-account-credentials`) and KEDA's operator.
 */
export const DEFAULT_AUTOSCALERS = [
  'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
  'system:kube-controller-manager',
  'system:serviceaccount:keda:keda-operator',
];

/**
 * kube-controller-manager's identities: its own (`--use-service-account-credentials=false`) and
 * the service account of each controller that creates pods, ReplicaSets and Jobs for their
 * owners (`--use-service-account-credentials=true`, as kubeadm and managed clusters run it).
 */
export const DEFAULT_CONTROLLERS = [
  'system:kube-controller-manager',
  ...['replicaset-controller', 'deployment-controller', 'statefulset-controller', 'daemon-set-controller', 'job-controller', 'cronjob-controller', 'replication-controller'].map(
    (controller) => `system:serviceaccount:kube-system:${controller}`,
  ),
];

/**
 * The controllers that carry out platform changes someone else made: kube-controller-manager's,
 * and the Cluster API core and kubeadm control plane managers, as their manifests run them.
 */
export const DEFAULT_PLATFORM_CONTROLLERS = [
  ...DEFAULT_CONTROLLERS,
  // Its deletes carry out an owner's delete, judged when that was made.
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:serviceaccount:capi-system:capi-manager',
  'system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager',
];

/** Controller usernames, as scale-to-zero and probe-gate each take them (same default, separate keys). */
const controllerIdentities = z.array(z.string().min(1)).default(DEFAULT_CONTROLLERS);

const scaleToZero = z.strictObject({
  action: enforcementAction.default('deny'),
  exempt: exemptions.default({ namespaces: [], users: [], groups: [] }),
  /** `namespace/name` of workloads that may scale to zero behind a Service; `*` matches any name. */
  exemptWorkloads: z.array(namespacedName).default([]),
  /** Usernames of the autoscalers (see DEFAULT_AUTOSCALERS). */
  autoscalers: z.array(z.string().min(1)).default(DEFAULT_AUTOSCALERS),
  /**
   * Usernames whose scale of a ReplicaSet that a cached Deployment controls is that Deployment's
   * rollout step, judged at the Deployment (see DEFAULT_CONTROLLERS); anyone else's is judged.
   */
  controllers: controllerIdentities,
  rules: z
    .strictObject({
      'autoscaler-to-zero': enforcementAction.default('warn'),
      'last-backend-deleted': enforcementAction.default('warn'),
    })
    .default({ 'autoscaler-to-zero': 'warn', 'last-backend-deleted': 'warn' }),
});

const versionSkew = z.strictObject({
  action: enforcementAction.default('deny'),
  exempt: exemptions.default({ namespaces: [], users: [], groups: [] }),
  ...versionSkewSettings,
});

const spotCapacity = z.strictObject({
  action: enforcementAction.default('deny'),
  exempt: exemptions.default({ namespaces: [], users: [], groups: [] }),
  ...spotCapacitySettings,
});

const probeGate = z
  .strictObject({
    action: enforcementAction.default('deny'),
    exempt: exemptions.default({ namespaces: [], users: [], groups: [] }),
    /** What a missing or stale verdict does to a rollout: warn (allow, and say so), deny, or audit. */
    unknownAction: enforcementAction.default('warn'),
    /** A verdict older than this is Unknown: the probe has stopped reporting. */
    maxVerdictAgeSeconds: z.number().int().min(1).default(120),
    /** Members of these groups may roll out while the cluster is Unhealthy. */
    breakGlassGroups: z.array(z.string()).default([]),
    /** Namespaces where rollouts go ahead while the cluster is Unhealthy. */
    allowNamespaces: z.array(namespaceName).default([]),
    /**
     * Usernames whose pods, ReplicaSets and Jobs for an owner levee caches (same uid) are that
     * owner's work, not a rollout (see DEFAULT_CONTROLLERS). An operator's service account
     * belongs here only if its pods may start while the cluster is Unhealthy.
     */
    controllers: controllerIdentities,
  })
  // decide.ts reads per-rule actions from `rules`; the unknown-verdict rule takes unknownAction.
  .transform((policy) => ({ ...policy, rules: { 'verdict-unknown': policy.unknownAction } }));

const probeOnChange = z
  .strictObject({
    action: enforcementAction.default('deny'),
    exempt: exemptions.default({ namespaces: [], users: [], groups: [] }),
    /** Namespaces whose Deployments, DaemonSets and StatefulSets are the platform (what the cluster runs on). */
    namespaces: z.array(namespaceName).default(['kube-system']),
    /**
     * Usernames whose changes carry out a change levee already admitted (the Cluster API topology
     * controller updating MachineDeployments, kube-controller-manager): they neither start a
     * probe run nor wait for one.
     */
    controllers: z.array(z.string().min(1)).default(DEFAULT_PLATFORM_CONTROLLERS),
    /** The longest a platform change waits for the probe run after the one before; then it passes with a warning. */
    maxHoldSeconds: z.number().int().min(5).max(600).default(120),
    /** What a run that gave no verdict (the probe unreachable, past maxHoldSeconds) does to the next platform change. */
    unknownAction: enforcementAction.default('warn'),
  })
  .transform((policy) => ({ ...policy, rules: { 'run-unknown': policy.unknownAction } }));

const kubeClient = z
  .strictObject({
    /** Each list page, the start of each watch, and every other call must answer within this. */
    requestTimeoutMs: z.number().int().min(100).default(10_000),
    /** The API server is asked to end each watch after this (and sends a bookmark before). */
    watchTimeoutSeconds: z.number().int().min(5).max(3600).default(30),
    /** A watch that says nothing for this long (no event, no bookmark, no end) is dead: restarted, its caches relisted. */
    watchSilenceSeconds: z.number().int().min(6).max(7200).default(45),
  })
  .refine((value) => value.watchSilenceSeconds > value.watchTimeoutSeconds, {
    message: 'must exceed watchTimeoutSeconds: a healthy watch is quiet until the API server ends it',
    path: ['watchSilenceSeconds'],
  });

/**
 * Where the serving certificate comes from: `files` (tlsCertFile/tlsKeyFile, made by `levee
 * certs`, cert-manager or you, reloaded when they change) or `self`: levee keeps a CA and a
 * serving pair in one Secret of leveeNamespace, injects the CA into its own webhook
 * configurations (these names only) and renews both ahead of expiry (src/certs/self-managed.ts).
 */
const certificates = z
  .strictObject({
    source: z.enum(['files', 'self']).default('files'),
    /** self: the Secret (in leveeNamespace) levee keeps the certificates in; it must exist, empty or levee's. */
    secretName: z.string().min(1).default('levee-tls'),
    /** self: the serving certificate's DNS names; empty: levee.<leveeNamespace>.svc and levee.<leveeNamespace>.svc.cluster.local. */
    dnsNames: z.array(z.string().min(1)).default([]),
    /** self: its IP addresses (levee reached by a URL with an address, as on a developer's host). */
    ipAddresses: z.array(z.string().refine((ip) => isIP(ip) !== 0, { message: 'must be an IP address' })).default([]),
    /** self: the ValidatingWebhookConfigurations whose webhooks get the CA bundle. */
    validatingWebhookConfigurations: z.array(z.string().min(1)).default(['levee']),
    /** self: the MutatingWebhookConfigurations whose webhooks get the CA bundle. */
    mutatingWebhookConfigurations: z.array(z.string().min(1)).default(['levee']),
    /** self: the CA's validity; renewed when a third is left (the previous CA stays trusted until it expires). */
    caValiditySeconds: z.number().int().min(60).default(5 * 365 * 86_400),
    /** self: the serving certificate's validity; renewed when a third is left. */
    servingValiditySeconds: z.number().int().min(30).default(90 * 86_400),
    /** self: how often each replica reads the Secret (one GET) and checks the configurations: a rotation reaches every replica within this. */
    checkIntervalSeconds: z.number().min(1).max(3600).default(30),
  })
  .refine((value) => value.caValiditySeconds > value.servingValiditySeconds, {
    message: 'must exceed servingValiditySeconds: the CA must outlive the certificates it signs',
    path: ['caValiditySeconds'],
  });

const schema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      // 0 picks a free port (tests).
      port: z.number().int().min(0).max(65535).default(8443),
      tlsCertFile: z.string().default('certs/tls.crt'),
      tlsKeyFile: z.string().default('certs/tls.key'),
      /**
       * mTLS: a CA bundle (PEM); when set, /validate and /mutate answer only clients presenting a
       * certificate it signed (the API server, through its admission configuration).
       */
      clientCAFile: z.string().min(1).optional(),
      /** With clientCAFile: the client certificate's CN or a DNS/URI SAN must be one of these; empty allows any it signed. */
      clientNames: z.array(z.string().min(1)).default([]),
      certificates: certificates.default(certificates.parse({})),
      /**
       * A review carries object and oldObject, each at most etcd's 1.5 MiB (its default
       * --max-request-bytes: a larger object is never stored), plus 256 KiB for the envelope.
       */
      bodyLimitBytes: z.number().int().min(1024).default(BODY_LIMIT_BYTES),
      /** Reviews read or judged at once; more are shed with 429 and Retry-After. */
      maxConcurrentReviews: z.number().int().min(1).default(64),
      /** Request bytes the reviews in flight may hold (a review without Content-Length counts bodyLimitBytes); more are shed with 429. */
      maxBytesInFlight: z.number().int().min(1024).default(32 * 1024 * 1024),
      /** Open connections; the API server keeps up to 25 idle per host, per replica. */
      maxConnections: z.number().int().min(1).default(512),
      /** Above the API server's 90 s idle timeout, so its pooled connections are not torn down. */
      keepAliveTimeoutMs: z.number().int().min(1000).default(95_000),
      /**
       * A whole request (headers and body) must arrive within this time: twice the longest
       * timeoutSeconds of levee's registrations (5 s), after which the API server has given up on it.
       */
      requestTimeoutMs: z.number().int().min(100).default(10_000),
      /** A client must send its complete headers within this time (slowloris). */
      headersTimeoutMs: z.number().int().min(100).default(5_000),
      /** A cache whose watch has been broken longer than this is stale: /readyz, metrics, logs and warnings say so. */
      staleAfterSeconds: z.number().min(1).default(60),
    })
    .default({
      host: '0.0.0.0',
      port: 8443,
      tlsCertFile: 'certs/tls.crt',
      tlsKeyFile: 'certs/tls.key',
      clientNames: [],
      certificates: certificates.parse({}),
      bodyLimitBytes: BODY_LIMIT_BYTES,
      maxConcurrentReviews: 64,
      maxBytesInFlight: 32 * 1024 * 1024,
      maxConnections: 512,
      keepAliveTimeoutMs: 95_000,
      requestTimeoutMs: 10_000,
      headersTimeoutMs: 5_000,
      staleAfterSeconds: 60,
    }),
  /** How levee talks to the API server: its watches (serve's caches, the probe's triggers) and other calls. */
  kubeClient: kubeClient.default(kubeClient.parse({})),
  /** The compiled policies; by default the bundle inside levee's own package, wherever levee runs from. */
  bundlePath: z.string().default(DEFAULT_BUNDLE_PATH),
  kubeconfig: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Namespaces and users no policy judges (levee's own namespace is always exempt). */
  exempt: exemptions.default({ namespaces: [], users: [], groups: [] }),
  leveeNamespace: namespaceName.default('levee-system'),
  /**
   * Changes levee allowed that its watches do not show yet, which the next decisions count
   * (parallel cordons, parallel scale-downs): kept until the watch shows them or they expire.
   */
  recentDecisions: z
    .strictObject({
      expirySeconds: z.number().min(1).max(600).default(30),
      maxEntries: z.number().int().min(1).default(10_000),
    })
    .default({ expirySeconds: 30, maxEntries: 10_000 }),
  overrides: z
    .strictObject({
      /** The furthest ahead `levee.dev/override-expires` may be. */
      maxHours: z.number().positive().max(24 * 30).default(24),
      /**
       * Identities that apply what others wrote (GitOps controllers): an override they set
       * never counts, whatever their rights; one a person set, and levee recorded, does.
       */
      automation: automationIdentities.default(automationIdentities.parse({})),
    })
    .default({ maxHours: 24, automation: automationIdentities.parse({}) }),
  policies: z
    .strictObject({
      'scale-to-zero': scaleToZero.default(scaleToZero.parse({})),
      'version-skew': versionSkew.default(versionSkew.parse({})),
      'spot-capacity': spotCapacity.default(spotCapacity.parse({})),
      'probe-gate': probeGate.default(probeGate.parse({})),
      'probe-on-change': probeOnChange.default(probeOnChange.parse({})),
    })
    .default({
      'scale-to-zero': scaleToZero.parse({}),
      'version-skew': versionSkew.parse({}),
      'spot-capacity': spotCapacity.parse({}),
      'probe-gate': probeGate.parse({}),
      'probe-on-change': probeOnChange.parse({}),
    }),
  probe: probeSettings.default(probeSettings.parse({})),
  /** openreports.io Reports of what the live cluster already breaks, written by the probe leader. */
  reports: reportSettings.default(reportSettings.parse({})),
});

/** The schema of a configuration file as written (defaults optional); the Helm chart's values.schema.json embeds it. */
export const configFileSchema = schema;

export type LeveeConfig = z.infer<typeof schema>;
export type PolicyConfigs = LeveeConfig['policies'];
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ConfigInput = DeepPartial<LeveeConfig>;

/** Validates `input` (layered over the defaults) and returns a deeply frozen configuration. */
export function buildConfig(...layers: unknown[]): LeveeConfig {
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => mergeDeep(acc, layer, ''), {});
  const result = schema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${[...issue.path, key].join('.')}: unknown key`);
      // A record's key that breaks its own rule: say what the rule says, not only "Invalid key in record".
      const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      return [`${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${message}`];
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return deepFreeze(result.data);
}

/** Reads a YAML or JSON configuration file; a missing or unparsable file names itself. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LeveeError('CONFIG_UNREADABLE', `cannot read configuration file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = parseYaml(text);
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new Error('the top level must be a mapping');
    }
    return parsed ?? {};
  } catch (err) {
    throw new ConfigError(`configuration file ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
}

/** The environment variables levee reads, all in this one place. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): { configFile?: string; kubeconfig?: string; noColour: boolean } {
  return {
    noColour: env.NO_COLOR !== undefined,
    ...(env.LEVEE_CONFIG ? { configFile: env.LEVEE_CONFIG } : {}),
    ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
  };
}

function mergeDeep(base: Record<string, unknown>, layer: unknown, path: string): Record<string, unknown> {
  if (layer === undefined || layer === null) return base;
  if (!isRecord(layer)) throw new ConfigError(`invalid configuration: ${path || '(root)'}: expected a mapping`);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const existing = out[key];
    out[key] = isRecord(existing) && isRecord(value) ? mergeDeep(existing, value, path ? `${path}.${key}` : key) : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
