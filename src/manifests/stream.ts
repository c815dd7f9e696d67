import { depthExceeds, ManifestLimitError, MAX_DEPTH } from './limits.js';
import { decodeYamlDocument, YamlSyntaxError } from './yaml.js';

/**
 * A manifest stream split into documents the way kubectl splits it
 * (k8s.io/apimachinery's YAMLOrJSONDecoder): a stream that starts with `{` is read as
 * concatenated JSON values, falling back to YAML when the first or second value is not JSON
 * (a flow-style YAML mapping also starts with `{`); anything else is YAML documents split at
 * lines that start with `---`. A broken document is reported with its line and the
 * documents after it are still read, wherever kubectl could tell where the next one starts.
 */

export type StreamEntry =
  | { kind: 'document'; line: number; value: unknown; itemLines: number[] }
  | { kind: 'problem'; line: number; message: string };

export function* readStream(input: string): Generator<StreamEntry> {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const first = firstNonSpace(text, 0);
  if (first < text.length && text[first] === '{') {
    const lines = new LineCursor(text);
    const yamlFrom = yield* readJsonValues(text, first, lines);
    if (yamlFrom === undefined) return;
    yield* readYamlBlocks([text.slice(yamlFrom)], lines.lineAt(yamlFrom));
    return;
  }
  yield* readYamlBlocks([text]);
}

/** Whether a stream that starts with `head` is read as JSON (only then must it be read whole). */
export function startsAsJson(head: string): boolean {
  const first = firstNonSpace(head, head.charCodeAt(0) === 0xfeff ? 1 : 0);
  return head[first] === '{';
}

/** Yields JSON values; returns where YAML takes over, or undefined when the stream is done. */
function* readJsonValues(text: string, from: number, lines: LineCursor): Generator<StreamEntry, number | undefined> {
  let decoded = 0;
  for (let start = firstNonSpace(text, from); start < text.length; start = firstNonSpace(text, start)) {
    const end = text[start] === '{' || text[start] === '[' ? jsonValueEnd(text, start) : undefined;
    let value: unknown;
    let problem: string | undefined;
    try {
      if (end === undefined) throw new SyntaxError('not a JSON object or array, or one that never ends');
      value = JSON.parse(text.slice(start, end));
    } catch (err) {
      problem = (err as Error).message;
    }
    if (problem !== undefined) {
      // kubectl: one or no JSON object so far, and the stream may still be YAML.
      if (decoded <= 1) return start;
      yield { kind: 'problem', line: lines.lineAt(start), message: `not valid JSON: ${problem}` };
      return undefined;
    }
    decoded++;
    const line = lines.lineAt(start);
    if (depthExceeds(value, MAX_DEPTH)) yield { kind: 'problem', line, message: `nested deeper than ${MAX_DEPTH} levels` };
    else yield { kind: 'document', line, value, itemLines: [] };
    start = end!;
  }
  return undefined;
}

/**
 * YAML documents from text arriving in blocks (a whole text is one block): each document is
 * decoded as soon as the separator after it has arrived, so a large file never has to be
 * held whole. The first block must not start with a byte order mark.
 */
export function* readYamlBlocks(blocks: Iterable<string>, firstLine = 1): Generator<StreamEntry> {
  let pending = '';
  let line = firstLine;
  const take = function* (upTo: number, next: number, invalid: string | undefined): Generator<StreamEntry> {
    const chunk = pending.slice(0, upTo);
    if (chunk.trim() !== '') yield decodeChunk(chunk, line);
    line += countLines(chunk);
    if (invalid !== undefined) yield { kind: 'problem', line, message: `invalid YAML document separator: ${invalid}` };
    if (next > upTo) line++;
    pending = pending.slice(next);
  };
  for (const block of blocks) {
    pending += block;
    for (let separator = nextSeparator(pending); separator && separator.complete; separator = nextSeparator(pending)) {
      yield* take(separator.start, separator.next, separator.invalid);
    }
  }
  const last = nextSeparator(pending);
  if (last) yield* take(last.start, last.next, last.invalid);
  yield* take(pending.length, pending.length, undefined);
}

function decodeChunk(chunk: string, firstLine: number): StreamEntry {
  const lines = new LineCursor(chunk);
  const lineOf = (offset: number): number => firstLine + lines.lineAt(offset) - 1;
  try {
    const { value, offset, itemOffsets } = decodeYamlDocument(chunk);
    return { kind: 'document', line: lineOf(offset), value, itemLines: itemOffsets.map(lineOf) };
  } catch (err) {
    if (err instanceof YamlSyntaxError || err instanceof ManifestLimitError) {
      const line = lineOf(err.offset ?? firstNonSpace(chunk, 0));
      return { kind: 'problem', line, message: err instanceof YamlSyntaxError ? `not valid YAML: ${err.message}` : err.message };
    }
    throw err;
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/**
 * The first line of `text` that starts with `---`: kubectl's document separator, after which
 * only a comment may follow. `complete` says whether the whole line has arrived yet.
 */
function nextSeparator(text: string): { start: number; next: number; complete: boolean; invalid?: string } | undefined {
  let at: number;
  if (text.startsWith('---')) {
    at = 0;
  } else {
    const found = text.indexOf('\n---');
    if (found === -1) return undefined;
    at = found + 1;
  }
  const lineEnd = text.indexOf('\n', at);
  const next = lineEnd === -1 ? text.length : lineEnd + 1;
  const rest = text.slice(at + 3, lineEnd === -1 ? text.length : lineEnd).trim();
  const separator = { start: at, next, complete: lineEnd !== -1 };
  return rest === '' || rest.startsWith('#') ? separator : { ...separator, invalid: rest };
}

function firstNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/** End (exclusive) of the JSON object or array that starts at `start`, or undefined if it never closes. */
function jsonValueEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}

/** 1-based line numbers for offsets asked in increasing order, without indexing the whole text. */
class LineCursor {
  private offset = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  lineAt(offset: number): number {
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    for (let at = this.text.indexOf('\n', this.offset); at !== -1 && at < offset; at = this.text.indexOf('\n', at + 1)) {
      this.line++;
      this.offset = at + 1;
    }
    return this.line;
  }
}
