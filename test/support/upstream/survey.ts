import { writeFileSync } from 'node:fs';
import { audit, ensureTrees, findingKey, inParallel, loadIndex, materialize, removeScratchDirs, scratchDir, unitId, unitsOf, type Unit } from './corpus.js';

/**
 * Audits every unit of the corpus and prints what levee found, for the people who change rules:
 *   npm run build && node dist/test/support/upstream/survey.js [out.json]
 */
const index = loadIndex();
const trees = await ensureTrees();
const scratch = scratchDir();
const units: Unit[] = index.sets.flatMap((set) => unitsOf(set, trees[set.module]!));
const started = Date.now();
const results = await inParallel(units, async (unit) => {
  const variables = unit.set.variables ? index.variables[unit.set.variables] : undefined;
  let dir: string;
  try {
    dir = materialize(unit, variables, scratch);
  } catch (err) {
    return { unit: unitId(unit), code: -1, stderr: (err as Error).message, findings: [] as string[] };
  }
  const outcome = await audit(dir);
  return { unit: unitId(unit), code: outcome.code, objects: outcome.objects, judged: outcome.judged, stderr: outcome.stderr.trim(), findings: outcome.findings.map(findingKey), messages: outcome.findings.map((f) => f.message) };
});
removeScratchDirs();
const out = process.argv[2];
if (out) writeFileSync(out, JSON.stringify(results, null, 2));
for (const result of results) {
  console.log(`${result.code} ${result.unit} objects=${'objects' in result ? result.objects : '-'} ${result.findings.join('; ')} ${result.code === 0 || result.code === 1 ? '' : result.stderr}`);
}
console.log(`${units.length} units in ${((Date.now() - started) / 1000).toFixed(1)} s`);
