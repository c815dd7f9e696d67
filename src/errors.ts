/** Every error levee raises on purpose carries a stable code that logs and HTTP answers repeat. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'BUNDLE_UNREADABLE'
  | 'BUNDLE_INVALID'
  | 'POLICY_EVALUATION'
  | 'REVIEW_NOT_JSON'
  | 'REVIEW_INVALID'
  | 'REVIEW_TOO_LARGE'
  | 'REVIEW_CONTENT_TYPE'
  | 'REVIEW_INCOMPLETE'
  | 'TLS_UNREADABLE'
  | 'CLIENT_UNAUTHENTICATED'
  | 'CLIENT_FORBIDDEN'
  | 'TLS_INVALID'
  | 'REVIEW_OVERLOADED'
  | 'KUBECONFIG_MISSING'
  | 'CERTS_INVALID_ARGUMENT'
  | 'CERTS_SECRET'
  | 'CERTS_WEBHOOKS'
  | 'PATCH_INVALID'
  | 'MANIFEST_INVALID'
  | 'AUDIT_USAGE'
  | 'AUDIT_INPUT_TOO_LARGE'
  | 'KUBE_REQUEST'
  | 'KUBE_STATUS'
  | 'PROBE_REQUEST'
  | 'PROBE_FAILED'
  | 'PROBE_TIMEOUT'
  | 'VERDICT_INVALID'
  | 'INTERNAL';

export class LeveeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeveeError';
    this.code = code;
  }
}

export class ConfigError extends LeveeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, options);
    this.name = 'ConfigError';
  }
}

/**
 * A request body that cannot be judged. `httpStatus` is what the webhook answers with;
 * `unreadBody` says the rest of the body was never read (too large, or aborted), so the
 * connection cannot be reused.
 */
export class ReviewError extends LeveeError {
  readonly httpStatus: number;
  readonly unreadBody: boolean;

  constructor(code: ErrorCode, httpStatus: number, message: string, options: { unreadBody?: boolean } = {}) {
    super(code, message);
    this.name = 'ReviewError';
    this.httpStatus = httpStatus;
    this.unreadBody = options.unreadBody === true;
  }
}

/** opa-wasm throws strings and plain objects; make them real errors with a code. */
export function toError(thrown: unknown, code: ErrorCode = 'INTERNAL'): LeveeError {
  if (thrown instanceof LeveeError) return thrown;
  if (thrown instanceof Error) return new LeveeError(code, thrown.message, { cause: thrown });
  return new LeveeError(code, typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
