/**
 * How far levee reads one manifest document before it refuses it: the same rules kubectl
 * applies through go-yaml and encoding/json, with a lower nesting limit (no Kubernetes object
 * comes near it; a parser that recurses must stop well before the stack does).
 */

/** Nesting levels of mappings and sequences. kubectl refuses past 10,000; real objects stay under 50. */
export const MAX_DEPTH = 1000;

/** go-yaml v2's alias-ratio window: how many decoded nodes may come from alias expansion. */
export const ALIAS_RATIO = { low: 400_000, high: 4_000_000 } as const;

/** A document past one of the limits above. */
export class ManifestLimitError extends Error {
  constructor(
    message: string,
    /** Offset in the document text, when known. */
    readonly offset: number | undefined,
  ) {
    super(message);
    this.name = 'ManifestLimitError';
  }
}

/** Depth of a parsed JSON value, measured without recursion, stopping once past `limit`. */
export function depthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(current)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}
