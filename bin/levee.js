#!/usr/bin/env node
// Launcher for the compiled CLI; `npm run build` produces dist/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('levee: not built yet; run `npm run build` first\n');
  process.exit(2);
}

// `levee audit` reads its whole input before judging it; with Node.js's default young
// generation a 50 MB input peaks near 7 times its size, with a small one near 5 at the same
// speed (npm run bench -- --audit). So audit runs in a Node.js started with that flag.
const AUDIT_FLAG = '--max-semi-space-size=8';
if (process.argv[2] === 'audit' && !process.execArgv.includes(AUDIT_FLAG)) {
  const child = spawnSync(process.execPath, [...process.execArgv, AUDIT_FLAG, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (child.error) {
    process.stderr.write(`levee: could not start the audit: ${child.error.message}\n`);
    process.exit(2);
  }
  process.exit(child.status ?? 128 + (constants.signals[child.signal] ?? 0));
}

const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
