import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../kube/types.js';
import { LeveeError } from '../errors.js';

/** One object read from a manifest, with where it came from (`file:line`) for the report. */
export interface ManifestObject {
  object: KubeObject;
  source: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Reads `-f` input as kubectl does: a file, a directory (recursively, .yaml/.yml/.json),
 * or `-` for stdin; multi-document YAML, JSON, and `List` objects expanded. A broken file
 * is an error naming the file and line, never an empty input.
 */
export function readManifests(target: string, readStdin: () => string = () => readFileSync(0, 'utf8')): ManifestObject[] {
  if (target === '-') return parseManifest(readStdin(), '<stdin>');
  let stats;
  try {
    stats = statSync(target);
  } catch {
    throw new LeveeError('MANIFEST_INVALID', `${target}: no such file or directory`);
  }
  if (!stats.isDirectory()) return parseManifest(readFileSync(target, 'utf8'), target);
  return manifestFiles(target).flatMap((file) => parseManifest(readFileSync(file, 'utf8'), file));
}

function manifestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name.startsWith('.') ? [] : manifestFiles(path);
      return MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()) ? [path] : [];
    });
}

export function parseManifest(text: string, file: string): ManifestObject[] {
  const lines = new LineCounter();
  // logLevel 'error': yaml's own warnings (odd keys) would otherwise go straight to stderr.
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, logLevel: 'error' });
  const out: ManifestObject[] = [];
  for (const document of documents) {
    // The line where the object itself begins, after any comments and the `---` marker.
    const line = lines.linePos(document.contents?.range?.[0] ?? document.range[0]).line;
    const problem = document.errors[0];
    if (problem) {
      const at = problem.linePos?.[0]?.line ?? lines.linePos(problem.pos[0]).line;
      throw new LeveeError('MANIFEST_INVALID', `${file}:${at}: not valid YAML: ${problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    let value: unknown;
    try {
      // Throws on an alias to no anchor, and on an alias bomb (yaml's resource-exhaustion limit).
      value = document.toJS();
    } catch (err) {
      throw new LeveeError('MANIFEST_INVALID', `${file}:${line}: not valid YAML: ${(err as Error).message}`);
    }
    if (value === null || value === undefined) continue;
    if (isCyclic(value)) throw new LeveeError('MANIFEST_INVALID', `${file}:${line}: an alias refers to its own parent; a Kubernetes object cannot contain itself`);
    out.push(...expand(value, `${file}:${line}`));
  }
  return out;
}

function expand(value: unknown, source: string): ManifestObject[] {
  if (typeof value !== 'object' || Array.isArray(value) || value === null) {
    throw new LeveeError('MANIFEST_INVALID', `${source}: expected a Kubernetes object (a mapping with apiVersion and kind)`);
  }
  const object = value as KubeObject & { items?: unknown };
  if (typeof object.kind !== 'string' || typeof object.apiVersion !== 'string') {
    throw new LeveeError('MANIFEST_INVALID', `${source}: object has no apiVersion or kind`);
  }
  if (object.kind.endsWith('List') && Array.isArray(object.items)) {
    return object.items.flatMap((item) => expand(item, source));
  }
  if (typeof object.metadata?.name !== 'string' && typeof object.metadata?.generateName !== 'string') {
    throw new LeveeError('MANIFEST_INVALID', `${source}: ${object.kind} has no metadata.name`);
  }
  return [{ object, source }];
}

/** Whether a value reached from YAML aliases contains itself (JSON, and so the API server, cannot). */
function isCyclic(value: unknown, ancestors = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children = value instanceof Map ? [...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  const cyclic = children.some((child) => isCyclic(child, ancestors));
  ancestors.delete(value);
  return cyclic;
}
