import assert from 'node:assert/strict';
import { chooseVerdict } from '../../../src/server/cluster-verdict.js';
import type { Verdict, VerdictDocument } from '../../../src/probe-verdict.js';

const NOW = new Date('2026-11-30T03:00:00.000Z');
const FILE = '/var/run/levee/verdict.json';

function document(verdict: Verdict, ageSeconds: number, reporter = 'probe-a'): VerdictDocument {
  const at = new Date(NOW.getTime() - ageSeconds * 1000).toISOString();
  return { verdict, since: at, generatedAt: at, reporter, leader: true, run: 1, failing: verdict === 'Healthy' ? [] : ['workload-lifecycle'], probes: [] };
}

describe('server/cluster-verdict: the verdict every replica gates on', () => {
  it("takes the leader's Unhealthy over a replica's own Healthy file, so both replicas refuse", () => {
    const leader = document('Unhealthy', 5, 'leader-1');
    const chosen = chooseVerdict({ cluster: leader, file: document('Healthy', 1, 'follower-2'), filePath: FILE }, NOW, 120);
    assert.equal(chosen.document, leader);
    assert.match(chosen.file, /ProbeVerdict cluster \(published by leader-1\)/);
  });

  it("takes the replica's own Unhealthy over the leader's Healthy (a fault the leader could not publish)", () => {
    const own = document('Unhealthy', 1);
    assert.equal(chooseVerdict({ cluster: document('Healthy', 3), file: own, filePath: FILE }, NOW, 120).document, own);
  });

  it('of two equally bad readings takes the newer', () => {
    const newer = document('Degraded', 1);
    assert.equal(chooseVerdict({ cluster: document('Degraded', 9), file: newer, filePath: FILE }, NOW, 120).document, newer);
    assert.equal(chooseVerdict({ cluster: newer, file: document('Degraded', 9), filePath: FILE }, NOW, 120).document, newer);
  });

  it("ignores a stale leader's verdict, and a stale file when the leader's is fresh", () => {
    const own = document('Healthy', 2);
    assert.equal(chooseVerdict({ cluster: document('Unhealthy', 600), file: own, filePath: FILE }, NOW, 120).document, own);
    const leader = document('Healthy', 2);
    assert.equal(chooseVerdict({ cluster: leader, file: document('Unhealthy', 600), filePath: FILE }, NOW, 120).document, leader);
  });

  it('with nothing fresh, hands the gate the file (which it then calls stale, naming the file), or nothing', () => {
    const staleFile = document('Healthy', 600);
    assert.deepEqual(chooseVerdict({ cluster: document('Healthy', 300), file: staleFile, filePath: FILE }, NOW, 120), { document: staleFile, file: FILE });
    assert.deepEqual(chooseVerdict({ cluster: undefined, file: undefined, filePath: FILE }, NOW, 120), { document: undefined, file: FILE });
    const staleLeader = document('Unhealthy', 300);
    assert.equal(chooseVerdict({ cluster: staleLeader, file: undefined, filePath: FILE }, NOW, 120).document, staleLeader);
  });
});
