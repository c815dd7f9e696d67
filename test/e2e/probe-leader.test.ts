import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { e2e, eventually, kubectl, sleep } from '../support/e2e.js';

/**
 * Leader election between two real `levee probe` processes on a real API server: one holds
 * the Lease and says so in its verdict, the other follows; when the leader dies, the follower
 * takes over; a leader that stops cleanly hands the Lease back.
 */

const lease = `levee-probe-test-${Date.now().toString(36)}`;
const dir = join(process.cwd(), '.levee', 'e2e', lease);
const OTHER_PROBES = ['api-write-path', 'workload-lifecycle', 'dns', 'controller-manager', 'scheduler', 'version-skew', 'restart-burst', 'on-demand-share', 'service-endpoints', 'certificate-expiry', 'node-health', 'node-canary'];

interface Candidate {
  process: ChildProcess;
  identity: string;
  verdictFile: string;
}

function verdictOf(candidate: Candidate): { leader: boolean; reporter: string; generatedAt: string } | undefined {
  if (!existsSync(candidate.verdictFile)) return undefined;
  return JSON.parse(readFileSync(candidate.verdictFile, 'utf8')) as { leader: boolean; reporter: string; generatedAt: string };
}

async function holder(): Promise<string> {
  const result = await kubectl(['get', 'lease', lease, '-n', 'levee-system', '-o', 'jsonpath={.spec.holderIdentity}']);
  return result.code === 0 ? result.stdout : `(error: ${result.stderr.trim()})`;
}

describe('e2e: levee probe leader election (two processes, one leader)', function () {
  this.timeout(180_000);
  const candidates: Candidate[] = [];

  function start(name: string, kubeconfig: string): Candidate {
    const verdictFile = join(dir, `${name}.json`);
    const config = join(dir, `${name}.config.json`);
    writeFileSync(config, JSON.stringify({
      logLevel: 'debug',
      probe: { intervalSeconds: 1, httpPort: 0, publish: false, verdictFile, disabled: OTHER_PROBES, lease: { name: lease, durationSeconds: 4 } },
    }));
    const child = spawn(process.execPath, ['bin/levee.js', 'probe', '--config', config, '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(dir, `${name}.log`));
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const candidate = { process: child, identity: `${hostname()}-${child.pid}`, verdictFile };
    candidates.push(candidate);
    return candidate;
  }

  before(async function () {
    this.timeout(1_800_000);
    const env = await e2e();
    mkdirSync(dir, { recursive: true });
    start('a', env.cluster.kubeconfig);
    start('b', env.cluster.kubeconfig);
  });

  after(async () => {
    for (const candidate of candidates) if (candidate.process.exitCode === null) candidate.process.kill('SIGKILL');
    await kubectl(['delete', 'lease', lease, '-n', 'levee-system', '--ignore-not-found']);
  });

  it('elects exactly one leader, which holds the Lease and says so in its verdict', async () => {
    await eventually('both probes to report as leader and follower', async () => {
      const views = candidates.map(verdictOf);
      if (views.some((view) => view === undefined)) return 'waiting for both verdict files';
      const leaders = views.filter((view) => view!.leader).length;
      return leaders === 1 || `${leaders} processes say they lead`;
    }, 60_000);
    const leader = candidates.find((candidate) => verdictOf(candidate)!.leader)!;
    assert.equal(await holder(), leader.identity);
    // Several runs later, still exactly one.
    await sleep(3000);
    assert.equal(candidates.filter((candidate) => verdictOf(candidate)!.leader).length, 1);
    assert.equal(await holder(), leader.identity);
  });

  it('lets the follower take over when the leader dies without handing the Lease back', async () => {
    const leader = candidates.find((candidate) => verdictOf(candidate)!.leader)!;
    const follower = candidates.find((candidate) => candidate !== leader)!;
    const killed = Date.now();
    leader.process.kill('SIGKILL');
    await eventually('the follower to hold the Lease', async () => (await holder()) === follower.identity || `held by ${await holder()}`, 60_000);
    await eventually('the follower to report itself leader', async () => verdictOf(follower)?.leader === true || 'not yet', 30_000);
    console.log(`      (takeover ${Math.round((Date.now() - killed) / 1000)} s after the leader was killed; Lease duration 4 s)`);
  });

  it('hands the Lease back when the leader stops cleanly', async () => {
    const leader = candidates.find((candidate) => candidate.process.exitCode === null && candidate.process.signalCode === null)!;
    assert.equal(await holder(), leader.identity);
    const exited = new Promise((resolve) => leader.process.once('exit', resolve));
    leader.process.kill('SIGTERM');
    await exited;
    assert.equal(await holder(), '');
  });
});
