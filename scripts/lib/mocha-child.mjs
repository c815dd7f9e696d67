// Runs mocha over the files given after the stats file in a process of its own (the e2e
// harness keeps one cluster and one levee per process), and writes the counts to the stats file.
import { writeFileSync } from 'node:fs';
import { runMocha } from './mocha.mjs';

const [statsFile, ...files] = process.argv.slice(2);
const stats = await runMocha(files);
writeFileSync(statsFile, JSON.stringify(stats));
process.exitCode = stats.failures + stats.pending === 0 ? 0 : 1;
