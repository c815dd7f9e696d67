import { denialMessage, type Decision } from '../engine/decide.js';
import type { AdmissionResponse, AdmissionReview } from './types.js';

export function reviewOf(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export function responseFor(uid: string, decision: Decision): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: decision.allowed };
  if (!decision.allowed) response.status = { code: 403, reason: 'Forbidden', message: denialMessage(decision) };
  if (decision.warnings.length > 0) response.warnings = decision.warnings;
  return response;
}

/** A review levee cannot judge is refused, never allowed: a decode failure is not an allow. */
export function refusal(uid: string, message: string, code = 400): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason: code === 400 ? 'BadRequest' : 'InternalError', message } };
}
