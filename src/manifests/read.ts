import type { KubeObject } from '../kube/types.js';
import { LeveeError } from '../errors.js';
import { documentContents } from './objects.js';
import { readStream } from './stream.js';

/**
 * Every Kubernetes object in a manifest stream, read as kubectl reads it, for levee's own
 * scripts and tests (webhook registrations, kustomize output). Documents that are not
 * objects are left out; anything that does not parse throws, naming `name` and the line.
 */
export function manifestObjects(text: string, name = 'manifest'): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const entry of readStream(text)) {
    if (entry.kind === 'problem') throw new LeveeError('MANIFEST_INVALID', `${name}:${entry.line}: ${entry.message}`);
    for (const content of documentContents(entry.value, entry.line, entry.itemLines)) {
      if (content.kind === 'problem') throw new LeveeError('MANIFEST_INVALID', `${name}:${content.line}: ${content.message}`);
      if (content.kind === 'object') objects.push(content.object);
    }
  }
  return objects;
}
