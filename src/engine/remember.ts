import type { AdmissionRequest } from '../kube/types.js';
import { judge, type Judgement, type PipelineDeps, type Route } from './pipeline.js';

/** How often a decision is taken again when other changes were allowed while it was being taken. */
export const MAX_ATTEMPTS = 5;

/** Builds the answer (admission/response.ts): from a judgement, or for a decision given up on. */
export interface Responder<Response extends { allowed: boolean }> {
  answer: (judgement: Judgement) => Response;
  conflict: (message: string) => Response;
}

export interface Answered<Response> {
  judgement: Judgement;
  response: Response;
}

/**
 * judge(), answer, and remember what an allowed request changes in the counts policies
 * protect, so that the next decisions count it before the watch shows it
 * (cluster/recent-decisions.ts). Only /validate remembers (a request also passes /mutate,
 * with the same judgement); a dry-run, a refusal and a request that changes no protected
 * count leave nothing behind.
 *
 * Reading the caches and remembering must be one step: when another change was remembered
 * while this decision waited (an override's SubjectAccessReview is a network call), the
 * decision is taken again with it counted. The check and the record are synchronous, so
 * nothing can come between them.
 */
export async function judgeAndRemember<Response extends { allowed: boolean }>(
  deps: PipelineDeps,
  request: AdmissionRequest,
  route: Route,
  respond: Responder<Response>,
): Promise<Answered<Response>> {
  const ledger = deps.cluster.recentDecisions;
  for (let attempt = 1; ; attempt++) {
    const generation = ledger.generation;
    const judgement = await judge(deps, request, route);
    const response = respond.answer(judgement);
    if (route !== 'validate' || request.dryRun === true || !response.allowed || !judgement.changes?.length) return { judgement, response };
    if (ledger.generation === generation) {
      ledger.record(judgement.changes);
      return { judgement, response };
    }
    if (attempt === MAX_ATTEMPTS) {
      const message = `levee could not judge this request: ${MAX_ATTEMPTS} times in a row other changes to the same counts were allowed while it was being judged; send it again`;
      return { judgement, response: respond.conflict(message) };
    }
  }
}
