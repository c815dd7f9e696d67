import { SCALABLE_KINDS } from '../kube/workload.js';
import type { PolicyConfigs } from '../config.js';
import { LeveeError } from '../errors.js';

/**
 * The CEL condition on `mutate.levee.dev`: which writes the API server sends to /mutate at all.
 * /mutate has work only when the object (or its previous version) carries a `levee.dev/`
 * annotation (an override to stamp, a forged stamp to drop), or when spot-capacity's spread
 * may apply (spot-capacity-mutation.ts): a workload of a kind that scales, that no controller
 * owns, critical by levee's configuration, created or given a new pod template.
 *
 * Criticality is configuration (labels, namespaces, priority classes), which a condition cannot
 * read, so the condition is rendered from it: by `levee webhook-condition` and the chart from
 * values, and kept in step by `levee serve` where it manages its own webhook configurations.
 * Rendered wider than the mutator is harmless (a call with nothing to do); narrower loses a
 * critical workload its spread.
 */

export const MUTATE_WEBHOOK = 'mutate.levee.dev';
export const MUTATE_CONDITION_NAME = 'levee-annotation-or-critical-pod-template';

type SpotCapacitySettings = Pick<PolicyConfigs['spot-capacity'], 'critical' | 'spread'>;

/**
 * The API server parses a condition with CEL's default parser limit: an expression longer than
 * this many code points is refused when the webhook configuration is written (k8s.io/apiserver
 * leaves cel-go's parser limit, 100,000, as it is).
 */
export const CEL_EXPRESSION_CODE_POINT_LIMIT = 100_000;

/**
 * A CEL string literal: JSON's escapes are CEL's. U+2028 and U+2029 are escaped too, as Go's
 * encoding/json does (the chart's `toRawJson`), so both render the same text. A lone UTF-16
 * surrogate is refused: JSON writes it as \uD800, which CEL refuses as an invalid code point.
 */
function celString(value: string): string {
  if (/\p{Surrogate}/u.test(value)) {
    throw new LeveeError(
      'CONFIG_INVALID',
      `spot-capacity.critical: ${JSON.stringify(value)} holds a lone UTF-16 surrogate, which no CEL string can hold (and no label, namespace or priority class is named with)`,
    );
  }
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (separator) => `\\u${separator.charCodeAt(0).toString(16)}`);
}
/** Byte order of the UTF-8 encodings: Go's order of strings, in which the chart's templates range over a map. */
const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const celList = (values: readonly string[]): string => `[${values.map(celString).join(', ')}]`;

const ANNOTATED = [
  'object.?metadata.?annotations.orValue({}).exists(k, k.startsWith("levee.dev/"))',
  'request.operation == "UPDATE" && oldObject.?metadata.?annotations.orValue({}).exists(k, k.startsWith("levee.dev/"))',
];

/** The ways a workload can be critical (spot-capacity.ts criticalBecause), as CEL over the object. */
function criticalClauses({ labels, namespaces, priorityClassNames }: SpotCapacitySettings['critical']): string[] {
  // Sorted by key as Go sorts strings (by UTF-8 bytes; JavaScript's < compares UTF-16 units), as the chart's templates range over a map: both render the same text.
  const byLabel = Object.entries(labels).sort(([a], [b]) => byUtf8(a, b)).flatMap(([key, value]) => [
    `object.?metadata.?labels[?${celString(key)}] == optional.of(${celString(value)})`,
    `object.?spec.?template.?metadata.?labels[?${celString(key)}] == optional.of(${celString(value)})`,
  ]);
  // An empty name never makes a workload critical (criticalBecause); leaving it out keeps every pod without a class from matching.
  const classes = priorityClassNames.filter((name) => name !== '');
  return [
    ...byLabel,
    ...(namespaces.length > 0 ? [`request.namespace in ${celList(namespaces)}`] : []),
    ...(classes.length > 0 ? [`object.?spec.?template.?spec.?priorityClassName.orValue("") in ${celList(classes)}`] : []),
  ];
}

/** The part that lets the spread's candidates through, or undefined when no workload can get one. */
function spreadClause(settings: SpotCapacitySettings): string | undefined {
  const critical = criticalClauses(settings.critical);
  if (!settings.spread.enabled || critical.length === 0) return undefined;
  return [
    `object.?kind.orValue("") in ${celList(SCALABLE_KINDS)}`,
    '!object.?metadata.?ownerReferences.orValue([]).exists(r, r.?controller.orValue(false) == true)',
    '(request.operation == "CREATE" || object.?spec.?template != oldObject.?spec.?template)',
    `(${critical.join(' ||\n  ')})`,
  ].join(' &&\n');
}

/** The condition's expression for these settings; clauses are joined by newlines, which CEL reads as spaces. */
export function mutateConditionExpression(settings: SpotCapacitySettings): string {
  const spread = spreadClause(settings);
  const expression = [...ANNOTATED, ...(spread ? [`(${spread})`] : [])].join(' ||\n');
  const codePoints = [...expression].length;
  if (codePoints > CEL_EXPRESSION_CODE_POINT_LIMIT) {
    throw new LeveeError(
      'CONFIG_INVALID',
      `the ${MUTATE_WEBHOOK} condition rendered from spot-capacity.critical is ${codePoints} code points long, over the ${CEL_EXPRESSION_CODE_POINT_LIMIT} ` +
        'the API server accepts in one CEL expression: name fewer critical labels, namespaces or priority classes (a label on the workloads, one per class of criticality, says the same)',
    );
  }
  return expression;
}

export interface MatchCondition {
  name: string;
  expression: string;
}

export function mutateCondition(settings: SpotCapacitySettings): MatchCondition {
  return { name: MUTATE_CONDITION_NAME, expression: mutateConditionExpression(settings) };
}

export interface RegisteredWebhook {
  name: string;
  matchConditions?: MatchCondition[];
}

export interface PatchOperation {
  op: 'test' | 'add' | 'replace';
  path: string;
  value: unknown;
}

/** The condition by MUTATE_CONDITION_NAME on `mutate.levee.dev` among these webhooks (the object itself, to read or replace), if registered. */
export function registeredMutateCondition(webhooks: readonly RegisteredWebhook[]): MatchCondition | undefined {
  return webhooks.find((webhook) => webhook.name === MUTATE_WEBHOOK)?.matchConditions?.find((condition) => condition.name === MUTATE_CONDITION_NAME);
}

/**
 * The JSON patch operations that give the registered condition named `condition.name` on
 * webhook `webhook` this expression, after testing both names at their positions; none when it
 * already has it, or when the registration carries no such condition (removing it was the
 * installer's choice: levee never narrows a registration it was not given).
 */
export function conditionPatch(webhooks: readonly RegisteredWebhook[], webhook: string, condition: MatchCondition): PatchOperation[] {
  return webhooks.flatMap((registered, i) => {
    if (registered.name !== webhook) return [];
    return (registered.matchConditions ?? []).flatMap((current, j) =>
      current.name !== condition.name || current.expression === condition.expression
        ? []
        : [
            { op: 'test' as const, path: `/webhooks/${i}/name`, value: registered.name },
            { op: 'test' as const, path: `/webhooks/${i}/matchConditions/${j}/name`, value: current.name },
            { op: 'replace' as const, path: `/webhooks/${i}/matchConditions/${j}/expression`, value: condition.expression },
          ],
    );
  });
}

/**
 * A strategic merge patch of MutatingWebhookConfiguration `name` that sets the condition (the
 * API server merges webhooks and their matchConditions by name): for kustomize's `patches`, or
 * `kubectl patch mutatingwebhookconfiguration <name> --type=strategic --patch-file`.
 */
export function mutateConditionPatch(name: string, condition: MatchCondition): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [{ name: MUTATE_WEBHOOK, matchConditions: [condition] }],
  };
}
