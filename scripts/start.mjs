// npm start: build what is missing, bring up the local cluster, run `levee serve` on the
// host, register it as the cluster's webhook, and keep guarding until Ctrl-C. On exit the
// webhooks are removed, so a stopped levee never leaves the cluster locked.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { build } from './build.mjs';
import { clusterUp } from './cluster.mjs';
import { applyCrds } from './lib/crds.mjs';
import { capture, ensureCommands, onPinnedNode, repoRoot, say } from './lib/run.mjs';

const PORT = 8443;
const certsDir = join(repoRoot, 'certs');
// Written by `levee probe`, read by `levee serve` (in a cluster: a shared emptyDir).
const verdictFile = join(repoRoot, '.levee', 'verdict.json');
// The local cluster's DNS is kwok's: its Service and endpoints exist, but no server answers, and
// its service network is routed nowhere, so levee probe sends no query from this host.
const probeConfig = join(repoRoot, '.levee', 'probe-config.json');

function ready(ca) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: PORT, path: '/readyz', ca, servername: 'localhost', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function main() {
  const started = Date.now();
  await onPinnedNode();
  ensureCommands({ openssl: 'openssl' });
  build();
  // Imported only now: on a fresh clone build() has just installed the npm dependencies.
  const { registerDevWebhooks, unregisterDevWebhooks } = await import('./lib/webhooks.mjs');
  const cluster = await clusterUp();
  say(`applied CRDs: ${applyCrds({ kubeconfig: cluster.kubeconfig }).join(', ')}`);

  if (!existsSync(join(certsDir, 'tls.crt')) || !existsSync(join(certsDir, 'ca.crt'))) {
    say('making a dev CA and serving certificate in certs/...');
    capture(process.execPath, ['bin/levee.js', 'certs', '--ip', '127.0.0.1', '--dns', 'localhost', '--out', certsDir]);
  }
  const ca = readFileSync(join(certsDir, 'ca.crt'), 'utf8');
  const caBundle = Buffer.from(ca).toString('base64');

  say(`starting levee serve on https://127.0.0.1:${PORT} (reviews only from the API server's client certificate)...`);
  const levee = spawn(
    process.execPath,
    ['bin/levee.js', 'serve', '--host', '127.0.0.1', '--port', String(PORT), '--kubeconfig', cluster.kubeconfig,
      '--tls-cert', join(certsDir, 'tls.crt'), '--tls-key', join(certsDir, 'tls.key'), '--verdict-file', verdictFile,
      // Reviews only from the API server: the client certificate its admission configuration presents.
      '--client-ca', cluster.webhookClientCA, '--client-name', cluster.webhookClientName],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  say('starting levee probe (verdict in .levee/verdict.json, on-demand runs: POST http://127.0.0.1:8081/run)...');
  mkdirSync(join(repoRoot, '.levee'), { recursive: true });
  writeFileSync(probeConfig, JSON.stringify({ probe: { dns: { queryFromHost: false } } }));
  const probe = spawn(
    process.execPath,
    ['bin/levee.js', 'probe', '--config', probeConfig, '--kubeconfig', cluster.kubeconfig, '--verdict-file', verdictFile, '--tls-cert', join(certsDir, 'tls.crt')],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  let stopping = false;
  probe.on('exit', (code, signal) => {
    if (!stopping) say(`levee probe exited (${code ?? signal}); the verdict goes stale and probe-gate warns instead of gating`);
  });
  const unregister = () => {
    try {
      unregisterDevWebhooks({ kubeconfig: cluster.kubeconfig });
      say('webhooks removed; the cluster keeps running (npm run cluster:down stops it)');
    } catch (err) {
      say(`could not remove the webhooks: ${err.message}`);
    }
  };
  levee.on('exit', (code, signal) => {
    if (!stopping) {
      say(`levee serve exited (${code ?? signal}); removing its webhooks`);
      unregister();
      process.exit(1);
    }
  });

  const deadline = Date.now() + 60_000;
  while (!(await ready(ca))) {
    if (Date.now() > deadline) throw new Error('levee serve did not become ready within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const registered = registerDevWebhooks({ kubeconfig: cluster.kubeconfig, port: PORT, caBundle });
  say(`registered ${registered.join(', ')}`);

  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping levee`);
    unregister();
    levee.kill('SIGTERM');
    probe.kill('SIGTERM');
    setTimeout(() => process.exit(0), 3000).unref();
    levee.once('exit', () => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`
levee is guarding the local cluster (ready in ${seconds}s). In another terminal:

  export KUBECONFIG=${cluster.kubeconfig}

Replay the Monzo outage (a Service left with no endpoints):

  kubectl create deployment ledger --image=registry.example/ledger:1.0 --replicas=2
  kubectl expose deployment ledger --port=80 --target-port=8080
  kubectl scale deployment ledger --replicas=0          # refused by levee: Service ledger would have no endpoints
  kubectl scale deployment ledger --replicas=0 --dry-run=server   # same answer, nothing stored

The cluster's health as levee's probes see it (rollouts are refused while it is Unhealthy):

  kubectl get probeverdicts
  curl -s -X POST http://127.0.0.1:8081/run          # run every probe now, print the verdict

Ctrl-C stops levee and removes its webhooks.
`);
}

main().catch((err) => {
  say(`npm start failed: ${err.message}`);
  process.exit(1);
});
