import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { KubeObject } from '../kube/types.js';
import { LeveeError } from '../errors.js';
import { documentContents } from '../manifests/objects.js';
import { readStream, readYamlBlocks, startsAsJson, type StreamEntry } from '../manifests/stream.js';
import { InputBudget } from './limits.js';

/**
 * `levee audit -f` input: files, directories (recursively: .yaml, .yml, .json) and `-` for
 * stdin, read one file at a time. Everything readable comes out as objects; everything else
 * comes out too, named, so the report can count it: documents that are not Kubernetes
 * objects, documents that do not parse (with their line), and Helm chart sources.
 */
export type AuditInput =
  | { kind: 'object'; object: KubeObject; source: string }
  | { kind: 'other'; source: string; what: string }
  | { kind: 'problem'; source: string; message: string }
  | { kind: 'template'; file: string; chart?: string };

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Directories a directory walk passes over: hidden ones (.git) and installed packages. */
const PASSED_OVER = (name: string): boolean => name.startsWith('.') || name === 'node_modules';
/** Files larger than this are read in blocks, one document at a time, unless they are JSON. */
const STREAM_FROM_BYTES = 4 * 1024 * 1024;
const BLOCK_BYTES = 1024 * 1024;
/** A Go template action, as in Helm chart sources. */
const TEMPLATE_ACTION = /\{\{[^\n]*\}\}/;

export interface ReadOptions {
  budget: InputBudget;
  isJudgedKind?: (object: KubeObject) => boolean;
  readStdin?: (budget: InputBudget) => Promise<Buffer>;
}

export async function* readInputs(targets: readonly string[], options: ReadOptions): AsyncGenerator<AuditInput> {
  for (const target of targets) {
    if (target === '-') {
      const bytes = await (options.readStdin ?? readStdin)(options.budget);
      yield* readText(decodeBytes(bytes), '<stdin>', undefined, options);
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = statSync(target).isDirectory();
    } catch {
      throw new LeveeError('AUDIT_USAGE', `${target}: no such file or directory`);
    }
    for (const file of isDirectory ? manifestFiles(target) : [target]) yield* readFile(file, options);
  }
}

function* readFile(file: string, options: ReadOptions): Generator<AuditInput> {
  const chart = helmChartOf(file);
  if (chart !== undefined) {
    yield { kind: 'template', file, chart };
    return;
  }
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    yield unreadable(file, err);
    return;
  }
  options.budget.take(size, file);
  if (size > STREAM_FROM_BYTES) {
    const blocks = yamlBlocksOf(file);
    if (blocks) {
      for (const entry of readYamlBlocks(blocks)) yield* inputsOf(entry, file, options);
      return;
    }
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    yield unreadable(file, err);
    return;
  }
  yield* readText(decodeBytes(bytes), file, file, options);
}

function unreadable(file: string, err: unknown): AuditInput {
  return { kind: 'problem', source: file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
}

/**
 * A large UTF-8 YAML file as blocks of text, so that it is never held whole; undefined for
 * JSON and UTF-16 files, which are read whole.
 */
function yamlBlocksOf(file: string): Iterable<string> | undefined {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(BLOCK_BYTES);
  const first = readSync(fd, buffer, 0, BLOCK_BYTES, 0);
  const head = buffer.subarray(0, first);
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff) || startsAsJson(head.toString('utf8'))) {
    closeSync(fd);
    return undefined;
  }
  return (function* () {
    const decoder = new StringDecoder('utf8');
    try {
      const text = decoder.write(head);
      yield text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      for (let position = first, read = 1; read > 0; position += read) {
        read = readSync(fd, buffer, 0, BLOCK_BYTES, position);
        if (read > 0) yield decoder.write(buffer.subarray(0, read));
      }
      yield decoder.end();
    } finally {
      closeSync(fd);
    }
  })();
}

function* readText(text: string, name: string, file: string | undefined, options: ReadOptions): Generator<AuditInput> {
  // A file with template actions that does not parse is a template, not a broken manifest:
  // only such files are held back until the end; every other file streams.
  const mayBeTemplate = TEMPLATE_ACTION.test(text);
  const held: AuditInput[] = [];
  let broken = false;
  for (const entry of readStream(text)) {
    broken ||= entry.kind === 'problem';
    if (mayBeTemplate) held.push(...inputsOf(entry, name, options));
    else yield* inputsOf(entry, name, options);
  }
  if (mayBeTemplate && broken) yield { kind: 'template', file: file ?? name };
  else yield* held;
}

function inputsOf(entry: StreamEntry, name: string, options: ReadOptions): AuditInput[] {
  if (entry.kind === 'problem') return [{ kind: 'problem', source: `${name}:${entry.line}`, message: entry.message }];
  return documentContents(entry.value, entry.line, entry.itemLines, options.isJudgedKind).map((content): AuditInput => {
    const source = `${name}:${content.line}`;
    if (content.kind === 'object') return { kind: 'object', object: content.object, source };
    if (content.kind === 'other') return { kind: 'other', source, what: content.what };
    return { kind: 'problem', source, message: content.message };
  });
}

function manifestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return PASSED_OVER(entry.name) ? [] : manifestFiles(path);
      return MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()) ? [path] : [];
    });
}

/** The chart directory when `file` lies in a Helm chart's `templates/` (a `Chart.yaml` beside it). */
function helmChartOf(file: string): string | undefined {
  let dir = dirname(file);
  for (let level = 0; level < 32; level++) {
    if (basename(dir) === 'templates' && existsSync(join(dirname(dir), 'Chart.yaml'))) return relative('.', dirname(dir)) || '.';
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

/** UTF-8, or UTF-16 when a byte order mark says so (as kubectl's BOM-aware reader does). */
function decodeBytes(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return bytes.toString('utf8');
}

async function readStdin(budget: InputBudget): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    budget.take((chunk as Buffer).length, '<stdin>');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
