/**
 * Narrowing decoded JSON: a Kubernetes object arrives as `unknown` (an AdmissionReview body,
 * a manifest, a configuration file) and is read field by field without trusting its shape.
 */

/** A JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as a JSON object, or undefined when it is anything else. */
export function recordOf(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}
