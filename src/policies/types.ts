import type { AdmissionRequest } from '../admission/types.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig, PolicyId } from '../config.js';

export interface ContextInput {
  request: AdmissionRequest;
  cluster: ClusterState;
  config: LeveeConfig;
  now: Date;
}

/**
 * A policy as TypeScript sees it: its id and the context builder that gathers, from the
 * caches, only what its Rego needs. `undefined` means the policy has nothing to judge here.
 */
export interface PolicyDefinition {
  id: PolicyId;
  summary: string;
  buildContext(input: ContextInput): unknown;
}
