import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/kube/types.js';
import { e2e, eventually, kubectl } from './e2e.js';

/**
 * What the e2e tests of real controllers share: the controller built from its pinned Go module
 * by tools/build.sh, manifests read from that same module, and a kubeconfig with the
 * controller's own ServiceAccount identity.
 */

const repoRoot = process.cwd();

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const goEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin:/usr/lib/go/bin`,
  GOTOOLCHAIN: 'local',
  GOFLAGS: '-mod=mod',
});

/** Builds (or finds in the cache) tools/<name> and returns the binary's path. */
export async function buildTool(name: string): Promise<string> {
  const result = await run('bash', [join(repoRoot, 'tools', 'build.sh'), name]);
  const path = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || !existsSync(path)) {
    throw new Error(`tools/build.sh ${name} failed (exit ${result.code}):\n${result.stderr.split('\n').slice(-30).join('\n')}`);
  }
  return path;
}

/**
 * The source directory of `module` (downloaded if needed, checksum-verified by Go): at the
 * version tools/<tool>/go.mod pins, or at `version` when the tool does not require it.
 */
export async function goModuleDir(tool: string, module: string, version?: string): Promise<string> {
  const result = await run('go', ['mod', 'download', '-json', version ? `${module}@${version}` : module], { cwd: join(repoRoot, 'tools', tool), env: goEnv() });
  const info = JSON.parse(result.stdout || '{}') as { Dir?: string; Error?: string };
  if (result.code !== 0 || !info.Dir) throw new Error(`go mod download ${module} failed: ${info.Error ?? result.stderr}`);
  return info.Dir;
}

export function yamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJSON() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && typeof object === 'object');
}

export function yamlFileObjects(file: string): KubeObject[] {
  return yamlObjects(readFileSync(file, 'utf8'));
}

/** `kubectl kustomize <dir>`, as the project's own manifests are built (a provider's CRDs run to megabytes). */
export async function kustomize(dir: string): Promise<KubeObject[]> {
  const result = await run('kubectl', ['kustomize', dir]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return yamlObjects(result.stdout);
}

/** `kubectl apply --server-side` of objects, as their installer would create them. */
export async function applyObjects(objects: KubeObject[], extra: string[] = []): Promise<void> {
  const input = objects.map((object) => JSON.stringify(object)).join('\n');
  const result = await kubectl(['apply', '--server-side', '--force-conflicts', ...extra, '-f', '-'], { input });
  if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
}

/**
 * Waits until the API server serves the CRDs named. `kubectl wait` fails at once, instead of
 * waiting, on a CRD whose status the API server has not written yet.
 */
export async function waitForCrds(names: string[]): Promise<void> {
  await eventually('CRDs to be established', async () => {
    const result = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((name) => `crd/${name}`)]);
    if (result.code === 0) return true;
    if (!/status\.conditions accessor error/.test(result.stderr)) throw new Error(`CRDs not established: ${result.stderr}`);
    return result.stderr;
  }, 90_000);
}

export interface ServiceAccountCredentials {
  token: string;
  caCert: string;
  namespace: string;
  /** The API server's port on 127.0.0.1. */
  apiServerPort: number;
}

/**
 * A bound token for ServiceAccount `namespace/name` from the TokenRequest API, with the
 * cluster's CA: what the controller's pod would have mounted.
 */
export async function serviceAccountCredentials(namespace: string, name: string): Promise<ServiceAccountCredentials> {
  const token = await kubectl(['create', 'token', name, '-n', namespace, '--duration=6h']);
  if (token.code !== 0) throw new Error(`kubectl create token ${namespace}/${name} failed: ${token.stderr}`);
  const admin = yamlObjects(readFileSync((await e2e()).cluster.kubeconfig, 'utf8'))[0] as unknown as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  };
  const cluster = admin.clusters[0]!.cluster;
  return {
    token: token.stdout.trim(),
    caCert: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'),
    namespace,
    apiServerPort: Number(new URL(cluster.server).port),
  };
}

/** Removes the finalizers of whatever is left of `resource`, in every namespace (after its controller has stopped). */
export async function dropFinalizers(resource: string): Promise<void> {
  const list = await kubectl(['get', resource, '-A', '--ignore-not-found', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']);
  for (const line of list.stdout.split('\n').filter(Boolean)) {
    const [namespace, name] = line.split('/') as [string, string];
    await kubectl(['patch', resource, name, ...(namespace ? ['-n', namespace] : []), '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  }
}
