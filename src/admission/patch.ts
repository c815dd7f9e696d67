import type { JsonPatch } from '../engine/mutation.js';

/** A JSON Patch as an AdmissionResponse carries it: base64 of its JSON. */
export function encodePatch(patch: JsonPatch): string {
  return Buffer.from(JSON.stringify(patch)).toString('base64');
}
