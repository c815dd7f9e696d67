import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createLogger } from '../../../src/logger.js';
import type { VerdictDocument } from '../../../src/probe-verdict.js';
import { until } from '../../support/wait.js';
import { followVerdictFile, readVerdictFile, watchVerdictFile, writeVerdictFile } from '../../../src/probe/verdict-file.js';

function document(verdict: VerdictDocument['verdict'], run: number, padding = 0): VerdictDocument {
  return {
    verdict,
    since: '2026-01-01T00:00:00.000Z',
    generatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, run)).toISOString(),
    reporter: 'test',
    leader: true,
    run,
    failing: verdict === 'Unhealthy' ? ['controller-manager'] : [],
    // A large document makes a torn write likely if the write were not atomic.
    probes: [{ probe: 'controller-manager', status: 'Passing', critical: true, lastOk: true, latencyMs: 1, message: 'x'.repeat(padding), consecutiveFailures: 0, consecutiveSuccesses: 1, lastTransitionTime: '2026-01-01T00:00:00.000Z', checkedAt: '2026-01-01T00:00:00.000Z' }],
  };
}

const silent = createLogger('silent');

describe('probe/verdict-file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'levee-verdict-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a document that reads back equal, creating the directory, and leaves no temporary file', () => {
    const path = join(dir, 'run', 'levee', 'verdict.json');
    writeVerdictFile(path, document('Unhealthy', 1));
    assert.deepEqual(readVerdictFile(path), document('Unhealthy', 1));
    assert.deepEqual(readdirSync(join(dir, 'run', 'levee')), ['verdict.json']);
  });

  it('never lets a concurrent reader see a half-written file (temp + rename)', async () => {
    const path = join(dir, 'verdict.json');
    writeVerdictFile(path, document('Healthy', 0, 200_000));
    // A reader in another thread parses the file as fast as it can while this thread rewrites it.
    const reader = new Worker(
      `const { readFileSync } = require('node:fs');
       const { parentPort, workerData } = require('node:worker_threads');
       let reads = 0, torn = 0, stop = false;
       parentPort.on('message', () => { stop = true; });
       const loop = () => {
         for (let i = 0; i < 50; i++) {
           try { JSON.parse(readFileSync(workerData, 'utf8')); reads++; } catch { torn++; }
         }
         if (stop) parentPort.postMessage({ reads, torn }); else setImmediate(loop);
       };
       loop();`,
      { eval: true, workerData: path },
    );
    for (let run = 1; run <= 150; run++) writeVerdictFile(path, document(run % 2 ? 'Unhealthy' : 'Healthy', run, 200_000));
    const result = await new Promise<{ reads: number; torn: number }>((resolve) => {
      reader.once('message', resolve);
      reader.postMessage('stop');
    });
    await reader.terminate();
    assert.ok(result.reads > 0, 'the reader read the file');
    assert.equal(result.torn, 0, `${result.torn} of ${result.reads + result.torn} reads saw a partial file`);
  });

  it('names a verdict file it cannot read', () => {
    assert.throws(() => readVerdictFile(join(dir, 'absent.json')), /cannot read verdict file/);
  });

  it('watches the file: reads it at once, follows changes, and keeps the last good document through a broken one', async () => {
    const path = join(dir, 'verdict.json');
    writeVerdictFile(path, document('Healthy', 1));
    const seen: VerdictDocument[] = [];
    const stop = watchVerdictFile(path, (verdict) => seen.push(verdict), silent, { intervalMs: 20 });
    try {
      assert.equal(seen.at(-1)?.verdict, 'Healthy');
      await until(() => seen.at(-1)?.run === 2, { change: () => writeVerdictFile(path, document('Unhealthy', 2)) });
      assert.equal(seen.at(-1)?.verdict, 'Unhealthy');
      writeFileSync(path, '{"verdict": "Heal');
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(seen.at(-1)?.run, 2, 'a broken file changes nothing');
      await until(() => seen.at(-1)?.run === 3, { change: () => writeVerdictFile(path, document('Healthy', 3)) });
      assert.equal(JSON.parse(readFileSync(path, 'utf8')).run, 3);
    } finally {
      stop();
    }
  });

  it('waits quietly for the probe\'s first write, and warns only once the file is overdue', async () => {
    const warnings: string[] = [];
    const logger = createLogger('warn', new Writable({
      write(chunk: Buffer, _encoding, done) {
        warnings.push((JSON.parse(chunk.toString('utf8')) as { err: string }).err);
        done();
      },
    }));
    const path = join(dir, 'first.json');
    const seen: VerdictDocument[] = [];
    let stop = watchVerdictFile(path, (verdict) => seen.push(verdict), logger, { intervalMs: 20, overdueMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    writeVerdictFile(path, document('Healthy', 1));
    await until(() => seen.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(warnings, [], 'a file written before it was overdue is no fault');
    // Once the file was read, its disappearing is worth a warning at once.
    rmSync(path);
    await until(() => warnings.length === 1);
    assert.match(warnings[0]!, /^cannot read verdict file .*first\.json: ENOENT/);
    stop();
    warnings.length = 0;

    const never = join(dir, 'never.json');
    stop = watchVerdictFile(never, () => undefined, logger, { intervalMs: 20, overdueMs: 200 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(warnings, []);
      await until(() => warnings.length === 1);
      assert.match(warnings[0]!, /^no verdict file .*never\.json 0 s after start: is levee probe running and writing it\?$/);
    } finally {
      stop();
    }
  });

  it('gives serve the current verdict: the last good document and the file, or no document yet', async () => {
    const path = join(dir, 'verdict.json');
    const followed = followVerdictFile(path, silent, { intervalMs: 20 });
    try {
      assert.deepEqual(followed.current(), { document: undefined, file: path });
      await until(() => followed.current().document?.run === 4, { change: () => writeVerdictFile(path, document('Unhealthy', 4)) });
      assert.equal(followed.current().document?.verdict, 'Unhealthy');
      assert.equal(followed.current().file, path);
    } finally {
      followed.stop();
    }
  });
});
