// Child processes for the bench and the soak: every target runs in its own process, so the
// load generator never shares an event loop with a server.
import { fork, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

/** Forks a Node target that sends `{ready: true, port}` over IPC when it listens. */
export function startNodeTarget(script, args, { timeoutMs = 120_000, execArgv = [] } = {}) {
  const child = fork(script, args, { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready`));
    });
    child.on('message', (message) => {
      if (!message?.ready) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        ...message,
        pid: child.pid,
        child,
        stop: () => stopChild(child),
        memory: () => memoryOf(child),
        loopDelay: { reset: () => ask(child, { type: 'loop', reset: true }), read: () => ask(child, { type: 'loop' }) },
      });
    });
  });
}

/** RSS and heap in use after a full collection, as the levee target reports them. */
function memoryOf(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory report within 10 s')), 10_000);
    const onMessage = (message) => {
      if (message?.type !== 'memory') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ type: 'memory' });
  });
}

/** Sends `message` to a target and resolves with its answer of the same type. */
function ask(child, message) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${message.type} answer within 10 s`)), 10_000);
    const onMessage = (answer) => {
      if (answer?.type !== message.type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(answer);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/** SIGTERM, then SIGKILL if the child is still running after `killAfterMs`; resolves when it has exited. */
export function stopChild(child, killAfterMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Spawns a long-running command with its stdout and stderr written to `logFile`; `stop()` as stopChild. */
export function spawnLogged(command, args, { logFile, env, cwd, killAfterMs }) {
  const out = createWriteStream(logFile);
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  return { child, stop: () => stopChild(child, killAfterMs) };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a command that serves HTTP(S) on `port` and waits until `GET healthPath` answers 200. */
export async function startServerProcess(command, args, { port, healthPath, tls, timeoutMs = 60_000 }) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${stderr}`);
    if ((await healthy(port, healthPath, tls)) === 200) return { port, pid: child.pid, child, stop: () => stopChild(child) };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${command} did not answer ${healthPath} within ${timeoutMs / 1000} s: ${stderr}`);
}

function healthy(port, path, tls) {
  const send = tls ? httpsRequest : request;
  return new Promise((resolve) => {
    const req = send({ host: '127.0.0.1', port, path, ...(tls ? { ca: tls.ca, servername: 'localhost' } : {}), agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}
