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

/** The value as a string, or '' when it is anything else. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The API group of an apiVersion: `apps` of `apps/v1`, '' (core) of `v1`. */
export function groupOf(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? '').indexOf('/');
  return slash < 0 ? '' : (apiVersion ?? '').slice(0, slash);
}

/** The value at a dot path (`spec.template.spec`), or undefined where the path leaves the objects. */
export function fieldAt(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Whether two label maps hold the same keys and values (absent counts as empty). */
export function sameLabels(before: Readonly<Record<string, string>> | undefined, after: Readonly<Record<string, string>> | undefined): boolean {
  const a = before ?? {};
  const b = after ?? {};
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
