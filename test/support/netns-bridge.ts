/**
 * Runs inside network and mount namespaces of its own (started by `unshare --net --mount`, see
 * isolated-process.ts): brings its loopback up, bridges the host ports the controller needs
 * (the API server) in over Unix sockets, publishes the controller's own listeners (a webhook
 * server) out the same way, mounts the ServiceAccount files a pod would have, then runs the
 * controller and exits with its exit code.
 *
 *   node netns-bridge.js <config.json>
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface BridgeConfig {
  socketDir: string;
  /** Host ports reachable here as 127.0.0.1:<port>, through `<socketDir>/in-<port>.sock`. */
  reach: number[];
  /** Ports of the controller here, offered to the host as `<socketDir>/out-<port>.sock`. */
  publish: number[];
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The test process: when it is gone, the controller is stopped too. */
  owner: number;
  /** What a pod's ServiceAccount volume holds, mounted where in-cluster clients read it. */
  serviceAccount?: ServiceAccountFiles;
}

export interface ServiceAccountFiles {
  token: string;
  caCert: string;
  namespace: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A tmpfs over /run in this mount namespace only (/var/run links to it), holding the ServiceAccount files. */
function mountServiceAccount(files: ServiceAccountFiles): void {
  // -n: no utab entry under the host's /run.
  const mounted = spawnSync('mount', ['-n', '-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', '/run'], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`mounting a tmpfs on /run failed: ${mounted.stderr || mounted.error?.message}`);
  mkdirSync(SERVICE_ACCOUNT_DIR, { recursive: true });
  writeFileSync(join(SERVICE_ACCOUNT_DIR, 'token'), files.token, { mode: 0o600 });
  writeFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt'), files.caCert);
  writeFileSync(join(SERVICE_ACCOUNT_DIR, 'namespace'), files.namespace);
}

export const inboundSocket = (dir: string, port: number): string => join(dir, `in-${port}.sock`);
export const outboundSocket = (dir: string, port: number): string => join(dir, `out-${port}.sock`);

/** Pipes `client` to a fresh connection made by `connect`, both ways, closing both together. */
export function splice(client: Socket, connect: () => Socket): void {
  const upstream = connect();
  client.pipe(upstream).pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
}

function listen(server: Server, where: number | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'number') server.listen(where, '127.0.0.1', resolve);
    else server.listen(where, resolve);
  });
}

async function main(configFile: string): Promise<void> {
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as BridgeConfig;
  const lo = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (lo.status !== 0) throw new Error(`ip link set lo up failed: ${lo.stderr || lo.error?.message}`);
  if (config.serviceAccount) mountServiceAccount(config.serviceAccount);
  const servers: Server[] = [];
  for (const port of config.reach) {
    const server = createServer((client) => splice(client, () => createConnection(inboundSocket(config.socketDir, port))));
    await listen(server, port);
    servers.push(server);
  }
  for (const port of config.publish) {
    const server = createServer((client) => splice(client, () => createConnection(port, '127.0.0.1')));
    await listen(server, outboundSocket(config.socketDir, port));
    servers.push(server);
  }
  // The test stops the whole process group at once: the controller gets its own SIGTERM and
  // shuts down gracefully; this bridge stays until it has.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  // Only the credentials given here: never a KUBECONFIG inherited from the test run (the admin's).
  const { KUBECONFIG: _admin, ...inherited } = process.env;
  const child = spawn(config.command, config.args, { env: { ...inherited, ...config.env }, stdio: 'inherit' });
  child.on('error', (err) => {
    process.stderr.write(`netns-bridge: cannot start ${config.command}: ${err.message}\n`);
    process.exit(127);
  });
  // The test stops the controller in its after hook; if the test process itself dies first,
  // nothing else would.
  const owner = setInterval(() => {
    try {
      process.kill(config.owner, 0);
    } catch {
      child.kill('SIGTERM');
      clearInterval(owner);
    }
  }, 1000);
  child.on('exit', (code, signal) => {
    clearInterval(owner);
    for (const server of servers) server.close();
    process.stderr.write(`netns-bridge: ${config.command} exited (${signal ?? code})\n`);
    process.exit(code ?? 1);
  });
}

if (process.argv[1]?.endsWith('netns-bridge.js')) {
  main(process.argv[2] ?? '').catch((err: unknown) => {
    process.stderr.write(`netns-bridge: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
