import { execFile, spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** The pinned helm, built from its Go module on first use (tools/build.sh helm). */
let helmBinary: string | undefined;
export function helmPath(): string {
  if (!helmBinary) {
    const built = spawnSync('bash', ['tools/build.sh', 'helm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (built.status !== 0) throw new Error(`tools/build.sh helm failed with ${built.status}`);
    helmBinary = built.stdout.trim();
  }
  return helmBinary;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function command(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** helm with the given arguments; HELM_* state under a scratch directory so nothing leaks in from the machine. */
export function helm(args: string[], options: { input?: string; kubeconfig?: string } = {}): Promise<CommandResult> {
  return command(helmPath(), [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), ...args], options.input === undefined ? {} : { input: options.input });
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJSON() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && typeof object === 'object' && 'kind' in object);
}

/** `helm template` of charts/levee; throws with helm's message when it refuses. */
export async function renderChart(release: string, namespace: string, args: string[] = []): Promise<KubeObject[]> {
  const result = await helm(['template', release, 'charts/levee', '--namespace', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

/** `kubectl kustomize <dir>`, offline. */
export async function renderKustomize(dir: string): Promise<KubeObject[]> {
  const result = await command('kubectl', ['kustomize', dir]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

export const keyOf = (object: KubeObject): string => `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
