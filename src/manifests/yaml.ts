import jsYaml from 'js-yaml';
import { resolveScalar, YAML_TAG } from './scalars.js';
import { ALIAS_RATIO, MAX_DEPTH, ManifestLimitError } from './limits.js';

/**
 * One YAML document to the JSON value kubectl would send, with go-yaml v2's rules (what
 * kubectl runs through sigs.k8s.io/yaml): merge keys (`<<`) written in order, so a merge
 * after an explicit key overrides it; duplicate keys, the last one wins; aliases expanded
 * as copies, refused when they make up nearly all of the document (go-yaml's alias-ratio
 * rule, which stops a billion-laughs file while a file reusing an anchor many times
 * passes); YAML 1.1 scalars; any tag accepted. js-yaml 4 parses: like libyaml, it does not
 * hold flow collections (`args: [...]`) to block indentation, as stricter parsers do.
 */

export interface YamlValue {
  /** The document's value; undefined for an empty document. */
  value: unknown;
  /** Offset in the text where the document starts, and where each item of a top-level `items` sequence starts. */
  offset: number;
  itemOffsets: number[];
}

export class YamlSyntaxError extends Error {
  constructor(
    message: string,
    /** Offset in the document text, when known. */
    readonly offset: number | undefined,
  ) {
    super(message);
    this.name = 'YamlSyntaxError';
  }
}

const { load, FAILSAFE_SCHEMA, Type, YAMLException } = jsYaml;

/** A plain `<<` key, kept apart (and in its place) until merges are applied in order. */
const MERGE_MARK = '\u0000levee-merge\u0000';
let merges = 0;

function finite(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new YamlSyntaxError(`${value} cannot be written as JSON (json: unsupported value)`, undefined);
  return value;
}

/** Plain scalars resolve as go-yaml v2 resolves them; quoted ones stay strings. */
const goScalar = new Type('tag:levee.dev,2026:go-scalar', {
  kind: 'scalar',
  resolve: (text: string) => resolveScalar(text, true, undefined).tag !== 'str',
  construct: (text: string) => {
    const resolved = resolveScalar(text, true, undefined);
    return resolved.tag === 'merge' ? `${MERGE_MARK}${++merges}` : finite(resolved.value);
  },
});

/** The standard scalar tags, resolved as go-yaml resolves a tagged scalar (its style does not matter). */
const standardTags = ['int', 'float', 'bool', 'null', 'timestamp', 'binary'].map(
  (name) =>
    new Type(`${YAML_TAG}${name}`, {
      kind: 'scalar',
      resolve: (text: string | null) => {
        try {
          resolveScalar(text ?? '', false, `${YAML_TAG}${name}`);
          return true;
        } catch {
          return false;
        }
      },
      construct: (text: string | null) => finite(resolveScalar(text ?? '', false, `${YAML_TAG}${name}`).value),
    }),
);

/** Any other tag (`!custom`, `!!set`, a URI) leaves the node as it is, as go-yaml does. */
const anyTag = (['!', 'tag:'] as const).flatMap((prefix) =>
  (['scalar', 'sequence', 'mapping'] as const).map(
    (kind) => new Type(prefix, { kind, multi: true, construct: (data: unknown) => data ?? (kind === 'scalar' ? '' : kind === 'sequence' ? [] : {}) }),
  ),
);

const SCHEMA = FAILSAFE_SCHEMA.extend({ implicit: [goScalar], explicit: [...standardTags, ...anyTag] });

export function decodeYamlDocument(text: string): YamlValue {
  const offset = firstContent(text);
  if (offset === undefined) return { value: undefined, offset: 0, itemOffsets: [] };
  let value = parse(text, false);
  // Only a document with anchors, aliases or merge keys needs the slower walk that expands them.
  if (/[&*]|<</.test(text)) value = settle(value);
  return { value, offset, itemOffsets: Array.isArray((value as { items?: unknown } | null)?.items) ? listItemOffsets(text, ((value as { items: unknown[] }).items).length) : [] };
}

function parse(text: string, allowDuplicates: boolean): unknown {
  try {
    return load(text, { schema: SCHEMA, json: allowDuplicates, maxDepth: MAX_DEPTH } as jsYaml.LoadOptions);
  } catch (err) {
    if (err instanceof YAMLException) {
      const reason = err.reason ?? err.message;
      const at = err.mark?.position;
      if (/maxDepth/.test(reason)) throw new ManifestLimitError(`nested deeper than ${MAX_DEPTH} levels`, at);
      if (!allowDuplicates && /duplicated mapping key/.test(reason)) {
        // go-yaml keeps the last of repeated keys. With merge keys too, which value wins
        // depends on the order of keys and merges, which the parser does not keep.
        if (/<</.test(text)) throw new YamlSyntaxError('a key is repeated in a document that also uses merge keys (<<): remove the repeated key', at);
        return parse(text, true);
      }
      throw new YamlSyntaxError(reason, at);
    }
    if (err instanceof YamlSyntaxError) throw err;
    if (err instanceof RangeError) throw new ManifestLimitError('nested too deeply to read', undefined);
    throw new YamlSyntaxError((err as Error).message, undefined);
  }
}

/** go-yaml's allowedAliasRatio: up to 99% of a small document may come from aliases, 10% of a huge one. */
function allowedAliasRatio(decoded: number): number {
  if (decoded <= ALIAS_RATIO.low) return 0.99;
  if (decoded >= ALIAS_RATIO.high) return 0.1;
  return 0.99 - 0.89 * ((decoded - ALIAS_RATIO.low) / (ALIAS_RATIO.high - ALIAS_RATIO.low));
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Expands what the parser shares: an object met a second time is an alias, copied anew and
 * counted as go-yaml counts alias expansions; merge keys are applied in the order they were
 * written, overriding earlier keys and overridden by later ones.
 */
function settle(root: unknown): unknown {
  const seen = new Set<object>();
  const open = new Set<object>();
  let decoded = 0;
  let aliased = 0;

  const count = (viaAlias: boolean): void => {
    decoded++;
    if (viaAlias) aliased++;
    if (aliased > 100 && decoded > 1000 && aliased / decoded > allowedAliasRatio(decoded)) {
      throw new ManifestLimitError('the document contains excessive aliasing (an alias bomb?)', undefined);
    }
  };

  const enter = <T>(value: object, depth: number, read: (viaAlias: boolean) => T, viaAlias: boolean): T => {
    if (depth > MAX_DEPTH) throw new ManifestLimitError(`nested deeper than ${MAX_DEPTH} levels (through aliases)`, undefined);
    if (open.has(value)) throw new YamlSyntaxError('an anchor value contains itself', undefined);
    const alias = viaAlias || seen.has(value);
    seen.add(value);
    open.add(value);
    try {
      return read(alias);
    } finally {
      open.delete(value);
    }
  };

  const visit = (value: unknown, depth: number, viaAlias: boolean): unknown => {
    count(viaAlias);
    if (typeof value === 'string') return value.startsWith(MERGE_MARK) ? '<<' : value;
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return enter(value, depth, (alias) => value.map((item) => visit(item, depth + 1, alias)), viaAlias);
    return enter(value, depth, (alias) => writeInto({}, value as Record<string, unknown>, depth, alias), viaAlias);
  };

  const writeInto = (out: Record<string, unknown>, mapping: Record<string, unknown>, depth: number, viaAlias: boolean): Record<string, unknown> => {
    for (const key of Object.keys(mapping)) {
      if (key.startsWith(MERGE_MARK)) {
        merge(out, mapping[key], depth, viaAlias);
        continue;
      }
      count(viaAlias);
      const value = visit(mapping[key], depth + 1, viaAlias);
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    }
    return out;
  };

  const merge = (out: Record<string, unknown>, value: unknown, depth: number, viaAlias: boolean): void => {
    const sources = Array.isArray(value) ? [...value].reverse() : [value];
    for (const source of sources) {
      if (!isMapping(source)) throw new YamlSyntaxError('map merge requires map or sequence of maps as the value', undefined);
      count(viaAlias);
      enter(source, depth + 1, (alias) => writeInto(out, source, depth + 1, alias), viaAlias);
    }
  };

  return visit(root, 0, false);
}

/** Offset of the document's first line that is not blank, a comment or a marker; undefined when there is none. */
function firstContent(text: string): number | undefined {
  const match = /^(?![ \t]*(#|%|---|\.\.\.|\r?$))/m.exec(text);
  return match && match.index < text.length ? match.index : undefined;
}

/**
 * Where each item of a block `items:` sequence at the top of the document starts (kubectl's
 * `-o yaml` List layout), when they can be told apart line by line; [] otherwise.
 */
function listItemOffsets(text: string, items: number): number[] {
  const key = /^items:[ \t]*(#.*)?\r?\n/m.exec(text);
  if (!key) return [];
  const offsets: number[] = [];
  let indent: number | undefined;
  const pattern = /^( *)(#|-(?:[ \t]|$)|\S)/gm;
  pattern.lastIndex = key.index + key[0].length;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const [, spaces, token] = match as unknown as [string, string, string];
    if (token === '#') continue;
    if (indent === undefined) {
      if (!token.startsWith('-')) return [];
      indent = spaces.length;
    }
    if (spaces.length < indent || (spaces.length === indent && !token.startsWith('-'))) break;
    if (spaces.length === indent) offsets.push(match.index + spaces.length);
  }
  return offsets.length === items ? offsets : [];
}

