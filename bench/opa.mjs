// `opa run --server` with levee's policies. The Go opa evaluates Rego, not the wasm module (it
// is built without a wasm engine), and the Rego that `opa build -t wasm` leaves in the bundle
// is rewritten around the compiled entrypoint; so opa loads the source files the bundle was
// compiled from (the bundle's own list of policies/*.rego), with the same data.config levee sets.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startServerProcess } from './processes.mjs';

const repo = new URL('..', import.meta.url).pathname;

export function preparePolicies(bundlePath, dir, policiesConfig) {
  mkdirSync(dir, { recursive: true });
  const listing = execFileSync('tar', ['-tzf', bundlePath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const modules = listing
    .split('\n')
    .map((entry) => entry.replace(/^\/+/, ''))
    .filter((entry) => entry.startsWith('policies/') && entry.endsWith('.rego'))
    .map((entry) => join(repo, entry));
  if (modules.length === 0) throw new Error(`${bundlePath} lists no policies/*.rego`);
  const data = join(dir, 'config.json');
  writeFileSync(data, JSON.stringify({ config: { policies: policiesConfig } }));
  return [...modules, data];
}

/** opa over plain HTTP on loopback (the sidecar's peer) or over HTTPS (`tls: {certFile, keyFile, ca}`). */
export async function startOpa(opaPath, files, { tls } = {}) {
  const port = await freePort();
  const args = ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', '--skip-version-check'];
  if (tls) args.push('--tls-cert-file', tls.certFile, '--tls-private-key-file', tls.keyFile);
  return startServerProcess(opaPath, [...args, ...files], { port, healthPath: '/health', tls });
}
