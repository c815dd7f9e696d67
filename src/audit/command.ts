import type { KubeConfig } from '@kubernetes/client-node';
import { offlineAuthorizer, selfSubjectAccessReviewAuthorizer } from '../cluster/authorizer.js';
import { whoAmI } from '../cluster/identity.js';
import { loadKubeConfig } from '../cluster/kubeconfig.js';
import { clusterOptionsFrom } from '../cluster/options.js';
import type { LeveeConfig } from '../config.js';
import { readBundle } from '../engine/bundle.js';
import { PolicyEvaluator } from '../engine/evaluator.js';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { POLICIES } from '../policies/registry.js';
import { auditObjects, exitCodeOf, type AuditDeps, type AuditReport } from './audit.js';
import { liveReader, liveState, scanLive } from './live.js';
import { readManifests, type ManifestObject } from './manifests.js';
import { stateFromManifests } from './offline-state.js';
import { renderJson } from './reporters/json.js';
import { renderJunit } from './reporters/junit.js';
import { renderTable } from './reporters/table.js';

export const OUTPUTS = ['table', 'json', 'junit'] as const;
export type AuditOutput = (typeof OUTPUTS)[number];

export interface AuditOptions {
  files: string[];
  cluster: boolean;
  namespace: string;
  output: AuditOutput;
  colour: boolean;
}

/** `levee audit`: returns the report text and the exit code (0 clean, 1 deny-level findings). */
export async function runAudit(options: AuditOptions, config: LeveeConfig, logger: Logger): Promise<{ text: string; exitCode: number }> {
  if (options.files.length === 0 && !options.cluster) {
    throw new LeveeError('AUDIT_USAGE', 'nothing to audit: give -f <file|dir|-> (as if applied) and/or --cluster (live objects)');
  }
  const inputs: ManifestObject[] = options.files.flatMap((file) => readManifests(file));
  const evaluator = await PolicyEvaluator.load(readBundle(config.bundlePath), { config: { policies: config.policies } });
  const base = { evaluator, config, namespace: options.namespace, now: () => new Date() };

  let report: AuditReport;
  if (!options.cluster) {
    report = await auditObjects(inputs, {
      ...base,
      cluster: stateFromManifests(inputs.map((input) => input.object), options.namespace, clusterOptionsFrom(config)),
      authorizer: offlineAuthorizer,
      user: { username: 'levee-audit', groups: [] },
    });
  } else {
    const kubeconfig: KubeConfig = loadKubeConfig(config.kubeconfig);
    const live = await liveState(kubeconfig, logger, clusterOptionsFrom(config));
    try {
      const deps: AuditDeps = { ...base, cluster: live.cluster, authorizer: selfSubjectAccessReviewAuthorizer(kubeconfig), user: await whoAmI(kubeconfig) };
      if (inputs.length > 0) {
        report = await auditObjects(inputs, { ...deps, liveObject: liveReader(kubeconfig) });
      } else {
        report = await auditObjects(scanLive(kubeconfig, POLICIES.flatMap((policy) => policy.kinds), logger), deps);
      }
    } finally {
      live.stop();
    }
  }
  const text = options.output === 'json' ? renderJson(report) : options.output === 'junit' ? renderJunit(report) : renderTable(report, options.colour);
  return { text, exitCode: exitCodeOf(report) };
}
