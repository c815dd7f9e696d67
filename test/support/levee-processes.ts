import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VerdictDocument } from '../../src/probe-verdict.js';
import { call } from './https.js';

/**
 * `levee serve` and `levee probe` on the host, as `npm start` runs them beside a local cluster:
 * certificates made with `levee certs`, serve registered as the cluster's webhooks (the dev
 * overlay) once it is ready, the probe writing the verdict file serve reads.
 */

const repoRoot = process.cwd();

export interface LeveeOptions {
  kubeconfig: string;
  /** Where certificates, logs, the verdict file and the probe's configuration go. */
  dir: string;
  port: number;
  probePort: number;
  /** The webhook configurations' name: `levee` as `npm start` registers them, `levee-e2e` for the tests. */
  webhookName: string;
  /** `probe` configuration over the defaults (e.g. a short interval). */
  probe?: Record<string, unknown>;
  /** `levee serve`'s configuration file (`--config`), e.g. `{policies: {...}}`; none by default. */
  serve?: Record<string, unknown>;
  /** mTLS, as `npm start` runs it: answer reviews only from this CA's client certificates of this name. */
  clientCA?: string;
  clientName?: string;
  /**
   * Run serve and probe with these kubeconfigs, and with `config` under `probe` and `serve`
   * instead of levee's defaults (the Helm chart's ServiceAccounts and configuration:
   * test/support/chart-credentials.ts); register no webhooks: whoever made these did.
   */
  credentials?: {
    serveKubeconfig: string;
    probeKubeconfig: string;
    config: Record<string, unknown>;
    /**
     * serve keeps its own CA and serving pair in this Secret (server.certificates.source: self):
     * no certificate files for serve, its CA read from the Secret (to reach it), and the probe
     * inspecting the Secret's certificate, as the pod mounts it.
     */
    servingSecret?: { namespace: string; name: string };
  };
}

export interface LeveeProcesses {
  levee: ChildProcess;
  leveeLog: string;
  probe: ChildProcess;
  probeLog: string;
  /** The CA serve's certificate is signed by (PEM), and the same as a base64 caBundle. */
  ca: string;
  caBundle: string;
  port: number;
  probePort: number;
  verdictFile: string;
  /** The harness's own certificate files for 127.0.0.1 (tls.crt, tls.key, ca.crt): what serve serves unless it keeps its own. */
  certs: string;
}

interface WebhookScripts {
  /** `config`: the configuration serve runs with, which the /mutate condition is rendered from. */
  registerDevWebhooks(options: { kubeconfig: string; port: number; caBundle: string; name: string; config?: unknown }): string[];
  unregisterDevWebhooks(options: { kubeconfig: string; name: string }): void;
}

export async function webhookScripts(): Promise<WebhookScripts> {
  return (await import(pathToFileURL(join(repoRoot, 'scripts', 'lib', 'webhooks.mjs')).href)) as WebhookScripts;
}

export function leveeCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/levee.js', ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      if (err) reject(new Error(`levee ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

function spawnLogged(args: string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, ['bin/levee.js', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(output);
  child.stderr!.pipe(output);
  return child;
}

/** The harness's serving certificate for 127.0.0.1 (made with `levee certs` once per directory). */
export async function harnessCertificates(dir: string): Promise<{ certs: string; ca: string; caBundle: string }> {
  mkdirSync(dir, { recursive: true });
  const certs = join(dir, 'certs');
  const caBundle = existsSync(join(certs, 'ca.crt'))
    ? readFileSync(join(certs, 'ca.crt')).toString('base64')
    : await leveeCli(['certs', '--ip', '127.0.0.1', '--dns', 'localhost', '--out', certs]);
  return { certs, ca: readFileSync(join(certs, 'ca.crt'), 'utf8'), caBundle };
}

type ConfigLayer = Record<string, unknown>;
const isLayer = (value: unknown): value is ConfigLayer => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `layer` over `base`, mapping by mapping, as levee layers a configuration file over its defaults. */
function layered(base: ConfigLayer, layer: ConfigLayer): ConfigLayer {
  const out: ConfigLayer = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const under = out[key];
    out[key] = isLayer(under) && isLayer(value) ? layered(under, value) : value;
  }
  return out;
}

interface SecretData {
  'ca.crt'?: string;
  'tls.crt'?: string;
}

/** The data of a Secret, as the admin reads it; empty while it does not exist or is empty. */
function secretData(kubeconfig: string, secret: { namespace: string; name: string }): Promise<SecretData> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, 'get', 'secret', secret.name, '-n', secret.namespace, '-o', 'jsonpath={.data}'], (err, stdout) => {
      resolve(err || !stdout.trim() ? {} : (JSON.parse(stdout) as SecretData));
    });
  });
}

/**
 * The CA and serving certificate serve keeps in its Secret, once it has filled it. The serving
 * certificate goes to `certificateFile`, where the probe inspects it, as the pod mounts the Secret.
 */
async function selfManagedCertificate(levee: ChildProcess, logFile: string, kubeconfig: string, secret: { namespace: string; name: string }, certificateFile: string): Promise<{ ca: string; caBundle: string }> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (levee.exitCode !== null) throw new Error(`levee serve exited with ${levee.exitCode}:\n${tail(logFile)}`);
    const data = await secretData(kubeconfig, secret);
    if (data['ca.crt'] && data['tls.crt']) {
      writeFileSync(certificateFile, Buffer.from(data['tls.crt'], 'base64'));
      return { ca: Buffer.from(data['ca.crt'], 'base64').toString('utf8'), caBundle: data['ca.crt'] };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`levee serve did not fill the Secret ${secret.namespace}/${secret.name} within 60 s:\n${tail(logFile)}`);
}

/** Starts `levee probe`, then `levee serve`, waits for serve's /readyz, then registers its webhooks. */
export async function startLevee(options: LeveeOptions): Promise<LeveeProcesses> {
  const { dir, kubeconfig, port, probePort, credentials } = options;
  const harness = await harnessCertificates(dir);
  const { certs } = harness;
  const servingSecret = credentials?.servingSecret;
  // Where the pod would mount the serving certificate for the probe: the Secret's, once serve has filled it.
  const probeCertificate = servingSecret ? join(dir, 'serving-tls.crt') : join(certs, 'tls.crt');
  const base = credentials?.config ?? {};
  const verdictFile = join(dir, 'verdict.json');
  const probeConfig = join(dir, 'probe-config.json');
  // kwok runs no DNS server, and the test cluster's service network is routed nowhere: no query leaves the host.
  writeFileSync(probeConfig, JSON.stringify(layered(base, { probe: { httpPort: probePort, verdictFile, dns: { queryFromHost: false }, ...options.probe } })));
  const probeLog = join(dir, 'probe.log');
  const probe = spawnLogged(['probe', '--config', probeConfig, '--kubeconfig', credentials?.probeKubeconfig ?? kubeconfig, '--tls-cert', probeCertificate], probeLog);
  const leveeLog = join(dir, 'levee.log');
  const serveConfig = join(dir, 'serve-config.json');
  const serveLayers = credentials ? layered(base, options.serve ?? {}) : options.serve;
  if (serveLayers) writeFileSync(serveConfig, JSON.stringify(serveLayers));
  const levee = spawnLogged(
    ['serve', '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', credentials?.serveKubeconfig ?? kubeconfig, '--probe-port', String(probePort),
      ...(serveLayers ? ['--config', serveConfig] : []),
      ...(servingSecret ? [] : ['--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key')]), '--verdict-file', verdictFile,
      ...(options.clientCA ? ['--client-ca', options.clientCA] : []), ...(options.clientName ? ['--client-name', options.clientName] : [])],
    leveeLog,
  );
  let { ca, caBundle } = harness;
  try {
    if (servingSecret) ({ ca, caBundle } = await selfManagedCertificate(levee, leveeLog, kubeconfig, servingSecret, probeCertificate));
    await waitForReady(levee, port, ca, leveeLog);
    if (!credentials) (await webhookScripts()).registerDevWebhooks({ kubeconfig, port, caBundle, name: options.webhookName, config: serveLayers ?? {} });
  } catch (error) {
    // A harness that failed to start must not leave serve and probe behind: mocha would never exit.
    await Promise.all([stopProcess(levee), stopProcess(probe)]);
    throw error;
  }
  return { levee, leveeLog, probe, probeLog, ca, caBundle, port, probePort, verdictFile, certs };
}

/** Stops a process and waits until it has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitForReady(levee: ChildProcess, port: number, ca: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (levee.exitCode !== null) throw new Error(`levee serve exited with ${levee.exitCode}:\n${tail(logFile)}`);
    const answer = await call(port, ca, { method: 'GET', path: '/readyz' }).catch(() => undefined);
    if (answer?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`levee serve was not ready within 60 s:\n${tail(logFile)}`);
}

export function tail(file: string, lines = 20): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
}

/** The verdict a `levee probe` last wrote to `file`, or undefined while it has written none. */
export function readVerdictFile(file: string): VerdictDocument | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as VerdictDocument;
  } catch {
    return undefined;
  }
}

/** The port a `levee probe` started with `httpPort: 0` listens on, from the line it logs once running. */
export function probePortOf(log: string): number {
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.includes('levee probe running')) return (JSON.parse(line) as { port: number }).port;
  }
  throw new Error('levee probe did not say which port it listens on');
}
