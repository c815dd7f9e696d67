// The openreports.io CustomResourceDefinitions (Report, ClusterReport) levee writes its live
// audit into, from the upstream project's Go module as the module proxy serves it: pinned
// version and h1: hash, verified by the go command, the CRD folder extracted by tools/modzip
// into levee's cache (scripts/upstream.mjs does both). Nothing upstream is kept in the repository.
//
//   node scripts/lib/openreports.mjs           print the CRD files' paths (fetch them if missing)
//   node scripts/lib/openreports.mjs --chart   also copy them into charts/levee/files/openreports/
//                                              (ignored by git), for `helm install` from source
//                                              with reports.installCrds=true, and `helm package`
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureUpstream } from '../upstream.mjs';
import { repoRoot, say } from './run.mjs';

export const OPENREPORTS = {
  module: 'github.com/openreports/reports-api',
  version: 'v0.2.1',
  sum: 'h1:g9KS3yle9Y1elmww4TK9EkD1rl6inIaiIJPX6e+u680=',
  folders: ['config/crd'],
};
export const OPENREPORTS_CRDS = ['reports.openreports.io', 'clusterreports.openreports.io'];
export const CHART_CRD_DIR = join(repoRoot, 'charts', 'levee', 'files', 'openreports');

/** The pinned module's CRD files (fetched and extracted on first use; a stat afterwards). */
export function openreportsCrdFiles() {
  const tree = ensureUpstream({ index: { modules: { openreports: OPENREPORTS } } }).openreports;
  const dir = join(tree, 'config', 'crd');
  const files = readdirSync(dir).filter((name) => name.endsWith('.yaml')).sort().map((name) => join(dir, name));
  if (files.length !== OPENREPORTS_CRDS.length) throw new Error(`${OPENREPORTS.module}@${OPENREPORTS.version}: expected ${OPENREPORTS_CRDS.length} CRDs in config/crd, found ${files.length}`);
  return files;
}

/** Copies the CRDs into the chart, replacing what an older pin left there. */
export function copyIntoChart() {
  rmSync(CHART_CRD_DIR, { recursive: true, force: true });
  mkdirSync(CHART_CRD_DIR, { recursive: true });
  const files = openreportsCrdFiles();
  for (const file of files) copyFileSync(file, join(CHART_CRD_DIR, file.split('/').pop()));
  return files.map((file) => join(CHART_CRD_DIR, file.split('/').pop()));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const files = process.argv.includes('--chart') ? copyIntoChart() : openreportsCrdFiles();
    process.stdout.write(`${files.join('\n')}\n`);
  } catch (err) {
    say(err.message);
    process.exitCode = 1;
  }
}
