import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inboundSocket, outboundSocket, splice, type BridgeConfig, type ServiceAccountFiles } from './netns-bridge.js';

/**
 * A controller run as a plain process, as it runs in its pod, in network and mount namespaces
 * of its own. Upstream controller commands bind their metrics, health and webhook listeners on
 * every interface (`:8080`) with no flag to choose the address; in their own namespace "every
 * interface" is a loopback that nothing else can reach. The only way out is the ports listed
 * in `reach` (the API server), bridged to the host's 127.0.0.1 over Unix sockets; ports in
 * `publish` (a webhook server) are offered back on the host's 127.0.0.1. With a
 * `serviceAccount`, the controller finds its token, CA and namespace where a pod has them and
 * uses the in-cluster configuration, leader election namespace included.
 */

export interface IsolatedProcessOptions {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Where the controller's stdout and stderr go (appended). */
  logFile: string;
  /** Host ports (on 127.0.0.1) the process reaches at the same port inside. */
  reach: number[];
  /** Ports the process listens on inside, each offered on the host's 127.0.0.1 at `host`. */
  publish?: Array<{ inside: number; host: number }>;
  /** The pod's ServiceAccount files; KUBERNETES_SERVICE_HOST/PORT point at the first `reach` port. */
  serviceAccount?: ServiceAccountFiles;
}

export interface IsolatedProcess {
  pid: number;
  logFile: string;
  /** Whether the process has exited (by itself or stopped). */
  exited(): boolean;
  /** The last lines of its log. */
  logTail(lines?: number): string;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

const bridgeScript = join(fileURLToPath(new URL('.', import.meta.url)), 'netns-bridge.js');

function listen(server: Server, where: number | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'number') server.listen(where, '127.0.0.1', resolve);
    else server.listen(where, resolve);
  });
}

export async function startIsolated(options: IsolatedProcessOptions): Promise<IsolatedProcess> {
  const socketDir = mkdtempSync(join(tmpdir(), 'levee-netns-'));
  const servers: Server[] = [];
  for (const port of options.reach) {
    const server = createServer((client) => splice(client, () => createConnection(port, '127.0.0.1')));
    await listen(server, inboundSocket(socketDir, port));
    servers.push(server);
  }
  for (const { inside, host } of options.publish ?? []) {
    const server = createServer((client) => splice(client, () => createConnection(outboundSocket(socketDir, inside))));
    await listen(server, host);
    servers.push(server);
  }
  const config: BridgeConfig = {
    socketDir,
    reach: options.reach,
    publish: (options.publish ?? []).map(({ inside }) => inside),
    command: options.command,
    args: options.args,
    env: {
      ...(options.serviceAccount ? { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(options.reach[0]) } : {}),
      ...options.env,
    },
    owner: process.pid,
    ...(options.serviceAccount ? { serviceAccount: options.serviceAccount } : {}),
  };
  const configFile = join(socketDir, 'bridge.json');
  writeFileSync(configFile, JSON.stringify(config));

  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    // Its own process group (detached), so that one signal reaches unshare, the bridge and the
    // controller together; unshare waits for them and exits last.
    child = spawn('unshare', ['--net', '--mount', '--fork', '--kill-child=SIGKILL', process.execPath, bridgeScript, configFile], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start unshare: ${err.message}`)));
    });
  } finally {
    closeSync(log);
  }
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exit.then(() => {
    gone = true;
    for (const server of servers) server.close();
    rmSync(socketDir, { recursive: true, force: true });
  });
  const pid = child.pid!;

  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-pid, name);
    } catch {
      // already gone
    }
  };
  return {
    pid,
    logFile: options.logFile,
    exited: () => gone,
    logTail: (lines = 30) => (existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8').split('\n').slice(-lines).join('\n') : ''),
    async stop(graceMs = 20_000) {
      if (gone) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
