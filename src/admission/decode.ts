import { ReviewError } from '../errors.js';
import { isPodEviction } from '../kube/eviction.js';
import { isRecord } from '../kube/fields.js';
import type { AdmissionRequest, GroupVersionKind, GroupVersionResource, KubeObject, Operation, UserInfo } from '../kube/types.js';

/**
 * The outcome of decoding a body: either a request levee can judge, or a review that has a uid
 * (so it must get a 200 with `allowed: false`) but lacks what a decision needs.
 */
export type Decoded =
  | { ok: true; request: AdmissionRequest }
  | { ok: false; uid: string; message: string };

const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/**
 * Checks an already JSON-parsed body. Throws ReviewError (a 4xx) when the body is not an
 * AdmissionReview v1 with a request uid; never returns an allow for something it cannot read.
 */
export function decodeAdmissionReview(body: unknown): Decoded {
  if (!isRecord(body)) throw new ReviewError('REVIEW_INVALID', 400, 'body is not a JSON object; expected an AdmissionReview');
  if (body.kind !== 'AdmissionReview') {
    throw new ReviewError('REVIEW_INVALID', 400, `expected kind AdmissionReview, got ${describe(body.kind)}`);
  }
  if (body.apiVersion !== 'admission.k8s.io/v1') {
    throw new ReviewError(
      'REVIEW_INVALID',
      400,
      `expected apiVersion admission.k8s.io/v1, got ${describe(body.apiVersion)}; register the webhook with admissionReviewVersions: [v1]`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) throw new ReviewError('REVIEW_INVALID', 400, 'AdmissionReview has no request');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid.length === 0) {
    throw new ReviewError('REVIEW_INVALID', 400, 'AdmissionReview request has no uid');
  }

  const missing: string[] = [];
  const kind = readGvk(request.kind);
  if (!kind) missing.push('kind');
  const resource = readGvr(request.resource);
  if (!resource) missing.push('resource');
  const operation = typeof request.operation === 'string' && OPERATIONS.has(request.operation) ? (request.operation as Operation) : undefined;
  if (!operation) missing.push('operation');
  const object = readObject(request.object);
  const oldObject = readObject(request.oldObject);
  if (object === undefined) missing.push('object (not an object)');
  if (oldObject === undefined) missing.push('oldObject (not an object)');
  if ((operation === 'CREATE' || operation === 'UPDATE') && !object) missing.push('object');
  if (operation === 'UPDATE' && !oldObject) missing.push('oldObject');
  const userInfo = readUserInfo(request.userInfo);
  if (!userInfo) missing.push('userInfo');
  if (!kind || !resource || !operation || !userInfo || object === undefined || oldObject === undefined || missing.length > 0) {
    return { ok: false, uid, message: `levee cannot judge this request: missing or malformed ${missing.join(', ')}` };
  }

  const elsewhere = foreignNamespace(request.namespace, object, oldObject);
  if (elsewhere) return { ok: false, uid, message: `levee cannot judge this request: ${elsewhere}` };

  return {
    ok: true,
    request: {
      uid,
      kind,
      resource,
      ...(typeof request.subResource === 'string' && request.subResource ? { subResource: request.subResource } : {}),
      ...(typeof request.name === 'string' && request.name ? { name: request.name } : {}),
      ...(typeof request.namespace === 'string' && request.namespace ? { namespace: request.namespace } : {}),
      operation,
      userInfo,
      object,
      oldObject,
      dryRun: request.dryRun === true || dryRunInEviction(resource, request.subResource, object),
      ...(request.options !== undefined ? { options: request.options } : {}),
    },
  };
}

/**
 * An Eviction may carry its dry run in its own deleteOptions instead of the `?dryRun` query. The
 * API server then evicts nothing, yet the review it sends says `dryRun: false` (kube-apiserver
 * v1.34: the review's flag is read from the query alone). Taken at its word, such an eviction
 * would be remembered as done and counted by the next decisions.
 */
function dryRunInEviction(resource: GroupVersionResource, subResource: unknown, object: KubeObject | null): boolean {
  if (!isPodEviction(resource, subResource) || !object) return false;
  const deleteOptions = (object as { deleteOptions?: unknown }).deleteOptions;
  return isRecord(deleteOptions) && Array.isArray(deleteOptions.dryRun) && deleteOptions.dryRun.length > 0;
}

/**
 * The API server makes a namespaced object's namespace the request's own before any webhook
 * sees it, so a review whose object says otherwise was made by someone else: judging it would
 * read, and describe in its answer, another namespace than the one the request names.
 */
function foreignNamespace(requestNamespace: unknown, ...objects: Array<KubeObject | null>): string | undefined {
  if (typeof requestNamespace !== 'string' || requestNamespace === '') return undefined;
  for (const object of objects) {
    const namespace = object?.metadata?.namespace;
    if (typeof namespace === 'string' && namespace !== '' && namespace !== requestNamespace) {
      return `its object is in namespace ${JSON.stringify(namespace)} but the request is in ${JSON.stringify(requestNamespace)}, which the API server never sends`;
    }
  }
  return undefined;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 80);
}

function readGvk(value: unknown): GroupVersionKind | undefined {
  if (!isRecord(value) || typeof value.kind !== 'string' || !value.kind || typeof value.version !== 'string') return undefined;
  return { group: typeof value.group === 'string' ? value.group : '', version: value.version, kind: value.kind };
}

function readGvr(value: unknown): GroupVersionResource | undefined {
  if (!isRecord(value) || typeof value.resource !== 'string' || !value.resource || typeof value.version !== 'string') return undefined;
  return { group: typeof value.group === 'string' ? value.group : '', version: value.version, resource: value.resource };
}

/** null/absent is a legitimate "no object"; anything else that is not a JSON object is malformed. */
function readObject(value: unknown): KubeObject | null | undefined {
  if (value === null || value === undefined) return null;
  return isRecord(value) && (value.metadata === undefined || isRecord(value.metadata)) ? (value as KubeObject) : undefined;
}

function readUserInfo(value: unknown): UserInfo | undefined {
  if (!isRecord(value)) return undefined;
  const groups = Array.isArray(value.groups) ? value.groups.filter((g): g is string => typeof g === 'string') : [];
  const extra = isRecord(value.extra) ? (value.extra as Record<string, string[]>) : undefined;
  return {
    username: typeof value.username === 'string' ? value.username : '',
    ...(typeof value.uid === 'string' ? { uid: value.uid } : {}),
    groups,
    ...(extra ? { extra } : {}),
  };
}
