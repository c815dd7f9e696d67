import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionReview } from '../../src/admission/types.js';
import { createLogger } from '../../src/logger.js';
import { BUNDLE_PATH } from '../support/bundle.js';
import { FakeApiServer, webBehindService } from '../support/fake-apiserver.js';
import { call, makeTestCerts, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { scaleReview } from '../support/reviews.js';
import { gzippedTar } from '../support/tar.js';

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (${String(last)})` : ''}`);
}

function capturingLogger(lines: string[]) {
  return createLogger('info', { write: (line: string) => void lines.push(line) });
}

describe('server: faults', function () {
  this.timeout(60_000);
  let certs: TestCerts;
  let dir: string;

  before(async () => {
    certs = await makeTestCerts();
    dir = mkdtempSync(join(tmpdir(), 'levee-faults-'));
  });

  describe('API server unreachable', () => {
    const api = new FakeApiServer(webBehindService());
    const lines: string[] = [];
    let running: TestServer;
    let agent: Agent;
    const get = async (path: string) => call(running.port, certs.ca, { method: 'GET', path, agent });
    const scaleToZero = async (): Promise<AdmissionReview> => (await call(running.port, certs.ca, { path: '/validate', body: JSON.stringify(scaleReview({ replicas: 0 })), agent })).json() as AdmissionReview;

    before(async () => {
      await api.start();
      running = await startTestServer({ certs, config: { server: { staleAfterSeconds: 1 }, kubeconfig: api.kubeconfig(dir), logLevel: 'info' }, logger: capturingLogger(lines), cluster: 'informers' });
      agent = new Agent({ keepAlive: true });
      await eventually('caches synced from the API server', async () => (await get('/readyz')).status === 200);
    });

    after(async () => {
      agent.destroy();
      await running.close();
      await api.stop();
    });

    it('judges from the caches while the API server is there, without a staleness warning', async () => {
      const review = await scaleToZero();
      assert.equal(review.response?.allowed, false);
      assert.match(review.response!.status!.message, /Service web/);
      assert.equal(review.response?.warnings, undefined);
      assert.equal((await get('/readyz')).text, 'ok');
    });

    it('keeps answering from the caches and stays Ready when the API server goes away, and says the caches are stale', async () => {
      await api.stop();
      const readyz = await eventually('/readyz reports stale caches', async () => {
        const answer = await get('/readyz');
        return /stale: .*services.* \(\d+ s\)/.test(answer.text) && answer;
      });
      assert.equal(readyz.status, 200, 'an unready webhook would take itself out of its Service');

      const review = await scaleToZero();
      assert.equal(review.response?.allowed, false, 'the refusal still comes from the cached Service and endpoints');
      assert.match(review.response!.status!.message, /Service web/);
      assert.ok(review.response?.warnings?.some((warning) => /cluster state may be out of date: caches .*services/.test(warning)), JSON.stringify(review.response?.warnings));

      const metrics = (await get('/metrics')).text;
      const age = Number(/levee_cache_last_sync_age_seconds\{cache="services"\} ([\d.]+)/.exec(metrics)?.[1]);
      assert.ok(age >= 1, `levee_cache_last_sync_age_seconds{cache="services"} is ${age}`);
      assert.match(metrics, /levee_cache_synced\{cache="services"\} 1/);
      await eventually('a log line about the stale caches', async () => lines.some((line) => /cluster caches stale: .*services/.test(line)));
    });

    it('is current again once the API server is back', async () => {
      await api.start();
      await eventually('/readyz without staleness', async () => (await get('/readyz')).text === 'ok', 20_000);
      const review = await scaleToZero();
      assert.equal(review.response?.warnings, undefined);
      const metrics = (await get('/metrics')).text;
      assert.match(metrics, /levee_cache_last_sync_age_seconds\{cache="services"\} 0\n/);
      await eventually('a log line saying the caches are current again', async () => lines.some((line) => /cluster caches current again/.test(line)));
    });
  });

  describe('API server unreachable at start', () => {
    it('is not Ready before any cache has listed, even after the first attempts failed', async () => {
      const api = new FakeApiServer(webBehindService());
      await api.start();
      const kubeconfig = api.kubeconfig(mkdtempSync(join(tmpdir(), 'levee-faults-')));
      await api.stop();
      const lines: string[] = [];
      const running = await startTestServer({ certs, config: { kubeconfig, logLevel: 'info' }, logger: capturingLogger(lines), cluster: 'informers' });
      try {
        await eventually('failed lists logged', async () => lines.filter((line) => /watch failed|initial list failed/.test(line)).length >= 3);
        const readyz = await call(running.port, certs.ca, { method: 'GET', path: '/readyz' });
        assert.equal(readyz.status, 503, readyz.text);
        assert.match(readyz.text, /services/);
      } finally {
        await running.close();
      }
    });
  });

  describe('policy bundle replaced on disk', () => {
    const lines: string[] = [];
    let running: TestServer;
    let bundlePath: string;
    let agent: Agent;
    const digest = async (): Promise<string | undefined> => /levee_policy_bundle_info\{digest="([0-9a-f]+)"/.exec((await call(running.port, certs.ca, { method: 'GET', path: '/metrics', agent })).text)?.[1];
    const scaleToZeroAllowed = async (): Promise<boolean | undefined> =>
      ((await call(running.port, certs.ca, { path: '/validate', body: JSON.stringify(scaleReview({ replicas: 0 })), agent })).json() as AdmissionReview).response?.allowed;
    /** As a ConfigMap or Secret volume update does it: the new file appears whole, by rename. */
    const replaceBundle = (content: Buffer): void => {
      const staged = `${bundlePath}.staged`;
      writeFileSync(staged, content);
      renameSync(staged, bundlePath);
    };

    before(async () => {
      bundlePath = join(dir, 'bundle.tar.gz');
      copyFileSync(BUNDLE_PATH, bundlePath);
      running = await startTestServer({ certs, config: { bundlePath, logLevel: 'info' }, logger: capturingLogger(lines) });
      agent = new Agent({ keepAlive: true });
    });

    after(async () => {
      agent.destroy();
      await running.close();
    });

    it('ignores a corrupt bundle with a log line and keeps judging with the last good one', async () => {
      const before = await digest();
      assert.equal(await scaleToZeroAllowed(), false);
      replaceBundle(Buffer.from('this is not a gzipped tar archive'));
      await eventually('a log line about the corrupt bundle', async () => lines.some((line) => /policy bundle not reloaded; keeping the last good one/.test(line) && /BUNDLE_INVALID/.test(line)));
      replaceBundle(gzippedTar([{ name: 'policy.wasm', content: 'not wasm at all' }]));
      await eventually('a log line about the wasm that does not load', async () => lines.some((line) => /not reloaded/.test(line) && /does not load/.test(line)));
      assert.equal(await scaleToZeroAllowed(), false, 'the last good bundle still refuses');
      assert.equal(await digest(), before);
    });

    it('swaps in a good new bundle, and back', async () => {
      const before = await digest();
      const permissive = compilePermissiveBundle(dir);
      replaceBundle(permissive);
      await eventually('the new bundle in use', async () => (await scaleToZeroAllowed()) === true);
      assert.notEqual(await digest(), before);
      assert.ok(lines.some((line) => /policy bundle reloaded/.test(line)));
      replaceBundle(readFileSync(BUNDLE_PATH));
      await eventually('the shipped bundle back in use', async () => (await scaleToZeroAllowed()) === false);
      assert.equal(await digest(), before);
    });
  });

  describe('corrupt bundle or configuration at start', () => {
    const levee = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['bin/levee.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, LEVEE_CONFIG: '', KUBECONFIG: join(dir, 'no-such-kubeconfig') },
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      });

    it('fails fast on a bundle that is not a gzipped tar, naming it', async () => {
      const corrupt = join(dir, 'corrupt.tar.gz');
      writeFileSync(corrupt, 'garbage');
      const { code, stderr } = await levee(['--bundle', corrupt]);
      assert.equal(code, 1);
      assert.match(stderr, /policy bundle .*corrupt\.tar\.gz is not a gzipped tar archive.*\[BUNDLE_INVALID\]/);
    });

    it('fails fast on a bundle whose wasm does not load', async () => {
      const broken = join(dir, 'broken-wasm.tar.gz');
      writeFileSync(broken, gzippedTar([{ name: 'policy.wasm', content: Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]) }]));
      const { code, stderr } = await levee(['--bundle', broken]);
      assert.equal(code, 1);
      assert.match(stderr, /broken-wasm\.tar\.gz does not load.*\[BUNDLE_INVALID\]/);
    });

    it('fails fast on a missing bundle, saying how to build one', async () => {
      const { code, stderr } = await levee(['--bundle', join(dir, 'absent.tar.gz')]);
      assert.equal(code, 1);
      assert.match(stderr, /cannot read policy bundle .*absent\.tar\.gz.*npm run build.*\[BUNDLE_UNREADABLE\]/);
    });

    it('fails fast on a configuration with an unknown key or a wrong value, naming it', async () => {
      const file = join(dir, 'bad-config.yaml');
      writeFileSync(file, 'server:\n  headersTimeoutMs: soon\npolicies:\n  scale-to-zero:\n    actoin: deny\n');
      const { code, stderr } = await levee(['--config', file, '--bundle', BUNDLE_PATH]);
      assert.equal(code, 2);
      assert.match(stderr, /invalid configuration: .*server\.headersTimeoutMs/);
      assert.match(stderr, /policies\.scale-to-zero.*actoin/);
    });

    it('fails fast on a configuration file that is not YAML', async () => {
      const file = join(dir, 'not-yaml.yaml');
      writeFileSync(file, 'server: [unclosed\n');
      const { code, stderr } = await levee(['--config', file, '--bundle', BUNDLE_PATH]);
      assert.equal(code, 2);
      assert.match(stderr, /not-yaml\.yaml is not valid YAML\/JSON.*\[CONFIG_INVALID\]/s);
    });
  });
});

/** A bundle whose policies never find anything: proves a reload changed what levee decides. */
function compilePermissiveBundle(dir: string): Buffer {
  const opa = spawnSync('tools/build.sh', ['opa'], { encoding: 'utf8' }).stdout.trim();
  const source = join(dir, 'permissive.rego');
  const out = join(dir, 'permissive.tar.gz');
  writeFileSync(source, 'package levee\n\ndecision := {"violations": []}\n');
  const result = spawnSync(opa, ['build', '-t', 'wasm', '-e', 'levee/decision', '-o', out, source], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`opa build failed: ${result.stderr}`);
  return readFileSync(out);
}
