import { z } from 'zod';

/**
 * Kubernetes' own syntax for the names levee's configuration holds: label keys, label values
 * and namespace names (apimachinery's IsQualifiedName, IsValidLabelValue and IsDNS1123Label).
 * A name that breaks it can never match anything in a cluster, so levee refuses it at start
 * rather than judge with a setting that silently does nothing; and a spread's topology key that
 * breaks it would have the API server refuse every write levee added the spread to.
 *
 * The patterns are RE2-compatible (no lookaround): the Helm chart's values schema carries them.
 */

const NAME_PART = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const DNS_LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
// A subdomain caps only its whole length (253), not each of its labels (IsDNS1123Subdomain).
const SUBDOMAIN_PART = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = `${SUBDOMAIN_PART}(\\.${SUBDOMAIN_PART})*`;
const DNS_SUBDOMAIN_MAX = 253;

const LABEL_KEY_PATTERN = new RegExp(`^(${DNS_SUBDOMAIN}/)?${NAME_PART}$`);
/** A second pattern, not a refinement, so that the chart's values schema carries the prefix's length too. */
const LABEL_KEY_PREFIX_LENGTH_PATTERN = new RegExp(`^([^/]{1,${DNS_SUBDOMAIN_MAX}}/)?[^/]*$`);
const LABEL_VALUE_PATTERN = new RegExp(`^(${NAME_PART})?$`);
export const NAMESPACE_NAME_PATTERN = new RegExp(`^${DNS_LABEL}$`);
/** `namespace/name` of a Service: both DNS labels. */
export const SERVICE_REFERENCE_PATTERN = new RegExp(`^${DNS_LABEL}/${DNS_LABEL}$`);

const quoted = (input: unknown): string => JSON.stringify(input);

/** A label key: an optional DNS subdomain prefix (at most 253 characters) and `/`, then a name of at most 63. */
export const labelKey = z
  .string()
  .regex(LABEL_KEY_PATTERN, {
    error: (issue) =>
      `${quoted(issue.input)} is not a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit`,
  })
  .regex(LABEL_KEY_PREFIX_LENGTH_PATTERN, {
    error: (issue) => `${quoted(issue.input)} is not a label key: its prefix is longer than ${DNS_SUBDOMAIN_MAX} characters`,
  });

/** A label value: empty, or at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit. */
export const labelValue = z.string().regex(LABEL_VALUE_PATTERN, {
  error: (issue) =>
    `${quoted(issue.input)} is not a label value: at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit`,
});

/**
 * `namespace/name` where the namespace is a namespace's name and the name anything without a
 * `/` (the settings that take it say what `*` matches there).
 */
export const namespacedName = z.string().regex(new RegExp(`^${DNS_LABEL}/[^/]+$`), {
  error: (issue) => `${quoted(issue.input)} is not namespace/name with a namespace's name before the '/' (at most 63 lower-case letters, digits or '-')`,
});

/** `namespace/name` where the namespace may be a pattern of a namespace's name, `*` matching any run of characters. */
export const namespacePatternAndName = z.string().regex(/^[a-z0-9*]([-a-z0-9*]{0,61}[a-z0-9*])?\/[^/]+$/, {
  error: (issue) => `${quoted(issue.input)} is not namespace/name with a namespace's name (or a pattern of one, with '*') before the '/'`,
});

/** A namespace's name: at most 63 lower-case letters, digits or '-', beginning and ending with a letter or digit. */
export const namespaceName = z.string().regex(NAMESPACE_NAME_PATTERN, {
  error: (issue) =>
    `${quoted(issue.input)} is not a namespace name: at most 63 lower-case letters, digits or '-', beginning and ending with a letter or digit`,
});
