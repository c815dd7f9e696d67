import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * levee's own package directory, found from this module's place (dist/src/package.js), never
 * from the working directory: `npx levee audit` runs in the user's repository, and the
 * compiled policy bundle ships inside the package.
 */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_BUNDLE_PATH = join(PACKAGE_ROOT, 'dist', 'policies', 'bundle.tar.gz');

export interface PackageInfo {
  name: string;
  version: string;
  /** Where the README is published; rule help links point at its sections. */
  homepage?: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (!cached) {
    const json = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as Partial<PackageInfo>;
    cached = { name: json.name ?? 'levee', version: json.version ?? '0.0.0', ...(json.homepage ? { homepage: json.homepage } : {}) };
  }
  return cached;
}
