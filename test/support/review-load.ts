import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadReport, LoadRequest, LoadStart } from './review-load-worker.js';

export type { AnswerStats, LoadReport } from './review-load-worker.js';

/** Reviews flowing to a levee from a process of their own (review-load-worker.ts) until stopped. */
export class ReviewLoad {
  private constructor(private readonly child: ChildProcess) {}

  static async start(options: {
    port: number;
    ca: string;
    /** The client certificate a levee started with --client-ca wants (the API server's). */
    cert?: string;
    key?: string;
    requests: Array<{ name: string; path: string; body: string | Buffer }>;
    connections?: number;
    newConnectionEveryMs?: number;
  }): Promise<ReviewLoad> {
    const child = fork(fileURLToPath(new URL('./review-load-worker.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const load = new ReviewLoad(child);
    const requests: LoadRequest[] = options.requests.map((item) => ({ name: item.name, path: item.path, body: Buffer.from(item.body).toString('base64') }));
    const start: LoadStart = { type: 'start', port: options.port, ca: options.ca, ...(options.cert ? { cert: options.cert, key: options.key } : {}), requests, connections: options.connections ?? 4, newConnectionEveryMs: options.newConnectionEveryMs ?? 100 };
    await load.ask(start, 'started');
    return load;
  }

  /** The answers so far, by request name. */
  async report(): Promise<LoadReport> {
    return ((await this.ask({ type: 'report' }, 'report')) as { report: LoadReport }).report;
  }

  /** Stops sending, waits for the answers in flight, and gives the final report. */
  async stop(): Promise<LoadReport> {
    const report = ((await this.ask({ type: 'stop' }, 'report')) as { report: LoadReport }).report;
    await new Promise<void>((resolve) => (this.child.exitCode !== null ? resolve() : this.child.once('exit', () => resolve())));
    return report;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private ask(message: unknown, answer: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: { type: string }): void => {
        if (reply.type !== answer) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(reply);
      };
      const onExit = (code: number | null): void => reject(new Error(`the load process exited (${code}) before answering`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(message as object);
    });
  }
}
