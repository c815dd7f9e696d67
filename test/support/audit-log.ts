import { existsSync, readFileSync } from 'node:fs';

/**
 * The API server's audit log (JSON lines, audit.k8s.io/v1 Events), as the e2e-chart run writes
 * it for the chart's ServiceAccounts: what each identity asked for, and what it was refused.
 */

export interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; extra?: Record<string, string[]> };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

/** Whose requests: a user, and optionally one of its credentials (`JTI=<id>` of a token). */
export interface Requester {
  username: string;
  credentialId?: string;
}

export function auditEvents(file: string): AuditEvent[] {
  if (!existsSync(file)) throw new Error(`no audit log at ${file}: the API server was not started with the e2e-chart audit policy`);
  const lines = readFileSync(file, 'utf8').split('\n');
  // The API server is still writing: a last line without its newline is not whole yet.
  lines.pop();
  return lines
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent)
    // A watch is logged when its answer starts and again when it ends; other requests once.
    .filter((event) => event.stage !== 'RequestReceived');
}

const madeBy = (requester: Requester) => (event: AuditEvent): boolean =>
  event.user.username === requester.username &&
  (requester.credentialId === undefined || (event.user.extra?.['authentication.kubernetes.io/credential-id'] ?? []).includes(requester.credentialId));

/** `verb resource[.group][/subresource] [-n namespace] [name]`, as an operator would read it. */
export function describeRequest(event: AuditEvent, withName = true): string {
  const ref = event.objectRef;
  if (!ref?.resource) return `${event.verb} ${event.requestURI.split('?')[0]}`;
  const group = ref.apiGroup ? `.${ref.apiGroup}` : '';
  const resource = `${ref.resource}${group}${ref.subresource ? `/${ref.subresource}` : ''}`;
  return [event.verb, resource, ref.namespace ? `-n ${ref.namespace}` : '', withName ? ref.name ?? '' : ''].filter(Boolean).join(' ');
}

/**
 * Refused for who asked: unauthenticated (401), or forbidden (403) by authorization. A 403 that
 * authorization allowed came from admission instead (e.g. a create in a namespace being
 * deleted): no missing right.
 */
export function refusedForWhoAsked(event: AuditEvent): boolean {
  const code = event.responseStatus?.code;
  return code === 401 || (code === 403 && event.annotations?.['authorization.k8s.io/decision'] !== 'allow');
}

/** The requests the API server refused as unauthenticated or forbidden, each once. */
export function refusedRequests(events: AuditEvent[], requester: Requester): string[] {
  const refused = events.filter(madeBy(requester)).filter(refusedForWhoAsked);
  return [...new Set(refused.map((event) => `${event.responseStatus!.code} ${describeRequest(event, false)}`))].sort();
}

/** The requests the API server answered with success. */
export function answeredRequests(events: AuditEvent[], requester: Requester): AuditEvent[] {
  return events.filter(madeBy(requester)).filter((event) => (event.responseStatus?.code ?? 0) >= 200 && (event.responseStatus?.code ?? 0) < 300);
}

/** What was asked, without names: `verb resource [-n namespace]`, each once, sorted. */
export function requestKinds(events: AuditEvent[]): string[] {
  return [...new Set(events.map((event) => describeRequest(event, false)))].sort();
}
