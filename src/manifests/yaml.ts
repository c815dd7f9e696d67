import { EVENT_ID, getScalarValue, parseEvents, SCALAR_STYLE, YAMLException, type Event, type ScalarEvent } from 'js-yaml';
import { keyString, MERGE_TAG, resolveScalar, YAML_TAG } from './scalars.js';
import { ALIAS_RATIO, MAX_DEPTH, ManifestLimitError } from './limits.js';

/**
 * One YAML document to the JSON value kubectl would send, with go-yaml v2's rules (what
 * kubectl runs through sigs.k8s.io/yaml): merge keys (`<<`) written in order, so a merge
 * after an explicit key overrides it; duplicate keys, the last one wins; aliases expanded
 * as copies, refused when they make up nearly all of the document (go-yaml's alias-ratio
 * rule, which stops a billion-laughs file while a file reusing an anchor many times
 * passes); YAML 1.1 scalars. The parser and this decoder both stop at MAX_DEPTH levels.
 */

export interface YamlValue {
  /** The document's value; undefined for an empty document. */
  value: unknown;
  /** Offset in the text where the value starts, and where each item of a top-level `items` sequence starts. */
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

export function decodeYamlDocument(text: string): YamlValue {
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: MAX_DEPTH });
  } catch (err) {
    if (err instanceof YAMLException) {
      if (/maxDepth/.test(err.reason)) throw new ManifestLimitError(`nested deeper than ${MAX_DEPTH} levels`, err.mark?.position);
      throw new YamlSyntaxError(err.reason, err.mark?.position);
    }
    if (err instanceof RangeError) throw new ManifestLimitError(`nested too deeply to read`, undefined);
    throw err;
  }
  return new Decoder(text, events).document();
}

/** go-yaml's allowedAliasRatio: up to 99% of a small document may come from aliases, 10% of a huge one. */
function allowedAliasRatio(decoded: number): number {
  if (decoded <= ALIAS_RATIO.low) return 0.99;
  if (decoded >= ALIAS_RATIO.high) return 0.1;
  return 0.99 - 0.89 * ((decoded - ALIAS_RATIO.low) / (ALIAS_RATIO.high - ALIAS_RATIO.low));
}

class Decoder {
  /** For each collection event, the index of its closing POP. */
  private readonly ends: Int32Array;
  /** For each alias event, the event its anchor names at that point of the document. */
  private readonly targets = new Map<number, number>();
  private readonly tagHandles = new Map<string, string>([['!!', YAML_TAG], ['!', '!']]);
  private readonly expanding = new Set<number>();
  private decoded = 0;
  private aliased = 0;
  private aliasDepth = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly events: Event[],
  ) {
    this.ends = new Int32Array(events.length);
    this.index();
  }

  document(): YamlValue {
    const start = this.events.findIndex((event) => event.type === EVENT_ID.DOCUMENT);
    // kubectl decodes the first document of a chunk; an empty chunk is no object.
    if (start === -1 || this.events[start + 1]?.type === EVENT_ID.POP || this.events[start + 1] === undefined) {
      return { value: undefined, offset: 0, itemOffsets: [] };
    }
    const first = start + 1;
    const value = this.decode(first);
    return { value, offset: this.offsetOf(first), itemOffsets: this.itemOffsets(first) };
  }

  private index(): void {
    const open: number[] = [];
    const anchors = new Map<string, number>();
    this.events.forEach((event, i) => {
      if (event.type === EVENT_ID.DOCUMENT) {
        anchors.clear();
        for (const directive of event.directives) if (directive.kind === 'tag') this.tagHandles.set(directive.handle, directive.prefix);
      }
      if (event.type !== EVENT_ID.POP && event.type !== EVENT_ID.ALIAS && event.type !== EVENT_ID.DOCUMENT && event.anchorStart >= 0) {
        anchors.set(this.text.slice(event.anchorStart, event.anchorEnd), i);
      }
      if (event.type === EVENT_ID.ALIAS) {
        const name = this.text.slice(event.anchorStart, event.anchorEnd);
        const target = anchors.get(name);
        if (target === undefined) throw new YamlSyntaxError(`unknown anchor '${name}' referenced`, event.anchorStart);
        this.targets.set(i, target);
      }
      if (event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.DOCUMENT) open.push(i);
      if (event.type === EVENT_ID.POP) this.ends[open.pop()!] = i;
    });
  }

  /** Index of the event after the node that starts at `i`. */
  private after(i: number): number {
    const event = this.events[i]!;
    return event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.MAPPING ? this.ends[i]! + 1 : i + 1;
  }

  /** go-yaml counts every node it decodes, and those it decodes through an alias. */
  private count(i: number): void {
    this.decoded++;
    if (this.aliasDepth > 0) this.aliased++;
    if (this.aliased > 100 && this.decoded > 1000 && this.aliased / this.decoded > allowedAliasRatio(this.decoded)) {
      throw new ManifestLimitError('the document contains excessive aliasing (an alias bomb?)', this.offsetOf(i));
    }
  }

  private decode(i: number): unknown {
    const event = this.events[i]!;
    this.count(i);
    switch (event.type) {
      case EVENT_ID.SCALAR:
        return this.scalar(event).value;
      case EVENT_ID.ALIAS:
        return this.throughAlias(i, (target) => this.decode(target));
      case EVENT_ID.SEQUENCE:
        return this.nested(i, () => {
          const items: unknown[] = [];
          for (let child = i + 1; child < this.ends[i]!; child = this.after(child)) items.push(this.decode(child));
          return items;
        });
      case EVENT_ID.MAPPING:
        return this.nested(i, () => this.mapInto(i, {}));
      default:
        throw new YamlSyntaxError('unexpected YAML event', undefined);
    }
  }

  private nested<T>(i: number, read: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ManifestLimitError(`nested deeper than ${MAX_DEPTH} levels (through aliases)`, this.offsetOf(i));
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  private throughAlias<T>(i: number, read: (target: number) => T): T {
    const target = this.targets.get(i)!;
    if (this.expanding.has(target)) {
      const event = this.events[i] as { anchorStart: number; anchorEnd: number };
      throw new YamlSyntaxError(`anchor '${this.text.slice(event.anchorStart, event.anchorEnd)}' value contains itself`, event.anchorStart);
    }
    this.expanding.add(target);
    this.aliasDepth++;
    try {
      return read(target);
    } finally {
      this.aliasDepth--;
      this.expanding.delete(target);
    }
  }

  /** Writes the pairs of the mapping at `i` into `out`, in order, merges included. */
  private mapInto(i: number, out: Record<string, unknown>): Record<string, unknown> {
    const end = this.ends[i]!;
    for (let key = i + 1; key < end; ) {
      const value = this.after(key);
      if (this.isMergeKey(key)) {
        this.merge(value, out);
      } else {
        const name = this.key(key);
        const decoded = this.decode(value);
        if (name === '__proto__') Object.defineProperty(out, name, { value: decoded, enumerable: true, writable: true, configurable: true });
        else out[name] = decoded;
      }
      key = this.after(value);
    }
    return out;
  }

  private isMergeKey(i: number): boolean {
    const event = this.events[i]!;
    if (event.type !== EVENT_ID.SCALAR || this.text.charCodeAt(event.valueStart) !== 0x3c || getScalarValue(this.text, event) !== '<<') return false;
    const tag = this.tagOf(event);
    return tag === undefined ? event.style === SCALAR_STYLE.PLAIN : tag === MERGE_TAG;
  }

  /** A merge value: a mapping, an alias of one, or a sequence of those (earlier ones win). */
  private merge(i: number, out: Record<string, unknown>): void {
    const event = this.events[i]!;
    const wantMap = (): never => {
      throw new YamlSyntaxError('map merge requires map or sequence of maps as the value', this.offsetOf(i));
    };
    if (event.type === EVENT_ID.MAPPING) {
      this.count(i);
      this.nested(i, () => this.mapInto(i, out));
    } else if (event.type === EVENT_ID.ALIAS) {
      this.count(i);
      this.throughAlias(i, (target) => (this.events[target]!.type === EVENT_ID.MAPPING ? this.merge(target, out) : wantMap()));
    } else if (event.type === EVENT_ID.SEQUENCE) {
      const items: number[] = [];
      for (let child = i + 1; child < this.ends[i]!; child = this.after(child)) items.push(child);
      for (const item of items.reverse()) {
        const kind = this.events[item]!.type;
        const target = kind === EVENT_ID.ALIAS ? this.events[this.targets.get(item)!]!.type : kind;
        if (target !== EVENT_ID.MAPPING) wantMap();
        this.merge(item, out);
      }
    } else {
      wantMap();
    }
  }

  private key(i: number): string {
    const event = this.events[i]!;
    this.count(i);
    let resolved;
    if (event.type === EVENT_ID.SCALAR) {
      resolved = this.scalar(event);
    } else if (event.type === EVENT_ID.ALIAS && this.events[this.targets.get(i)!]!.type === EVENT_ID.SCALAR) {
      resolved = this.throughAlias(i, (target) => this.scalar(this.events[target] as ScalarEvent));
    } else {
      throw new YamlSyntaxError('invalid map key: a mapping or a sequence cannot be a key', this.offsetOf(i));
    }
    try {
      return keyString(resolved);
    } catch (err) {
      throw new YamlSyntaxError((err as Error).message, this.offsetOf(i));
    }
  }

  private scalar(event: ScalarEvent): ReturnType<typeof resolveScalar> {
    try {
      const resolved = resolveScalar(getScalarValue(this.text, event), event.style === SCALAR_STYLE.PLAIN, this.tagOf(event));
      if (typeof resolved.value === 'number' && !Number.isFinite(resolved.value)) {
        throw new Error(`${resolved.value} cannot be written as JSON (json: unsupported value)`);
      }
      return resolved;
    } catch (err) {
      if (err instanceof YamlSyntaxError) throw err;
      throw new YamlSyntaxError((err as Error).message, event.valueStart);
    }
  }

  private tagOf(event: { tagStart: number; tagEnd: number }): string | undefined {
    if (event.tagStart < 0) return undefined;
    const raw = this.text.slice(event.tagStart, event.tagEnd);
    if (raw.startsWith('!<') && raw.endsWith('>')) return decodeURIComponent(raw.slice(2, -1));
    const handle = /^!([\w-]*!)?/.exec(raw)![0];
    const prefix = this.tagHandles.get(handle);
    return prefix === undefined ? raw : `${prefix}${decodeURIComponent(raw.slice(handle.length))}`;
  }

  private offsetOf(i: number): number {
    const event = this.events[i]!;
    const earliest = (...offsets: number[]): number => Math.min(...offsets.filter((offset) => offset >= 0));
    switch (event.type) {
      case EVENT_ID.SCALAR:
        return earliest(event.valueStart, event.anchorStart, event.tagStart);
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        return earliest(event.start, event.anchorStart, event.tagStart);
      case EVENT_ID.ALIAS:
        return Math.max(0, event.anchorStart - 1);
      default:
        return 0;
    }
  }

  /** Where each item of the top-level mapping's `items` sequence starts, for a `List`'s item lines. */
  private itemOffsets(i: number): number[] {
    const event = this.events[i]!;
    if (event.type !== EVENT_ID.MAPPING) return [];
    for (let key = i + 1; key < this.ends[i]!; key = this.after(this.after(key))) {
      const keyEvent = this.events[key]!;
      if (keyEvent.type !== EVENT_ID.SCALAR || getScalarValue(this.text, keyEvent) !== 'items') continue;
      const value = this.after(key);
      if (this.events[value]!.type !== EVENT_ID.SEQUENCE) return [];
      const offsets: number[] = [];
      for (let item = value + 1; item < this.ends[value]!; item = this.after(item)) offsets.push(this.offsetOf(item));
      return offsets;
    }
    return [];
  }
}
