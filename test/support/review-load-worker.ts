import { Agent, request } from 'node:https';

/**
 * A load generator in a process of its own (forked by review-load.ts), so that the load never
 * shares an event loop with the test that disturbs the cluster: AdmissionReviews sent round
 * robin over keep-alive connections, plus a fresh connection now and then, as the API server
 * sends them. Every answer is kept by request name: its status, whether it was allowed, and
 * any answer that never came.
 */

export interface LoadRequest {
  name: string;
  path: string;
  /** base64, so that bodies that are not JSON travel too. */
  body: string;
}

export interface LoadStart {
  type: 'start';
  port: number;
  ca: string;
  /** A client certificate and key, for a levee that answers reviews only over mTLS. */
  cert?: string;
  key?: string;
  requests: LoadRequest[];
  connections: number;
  newConnectionEveryMs: number;
}

export interface AnswerStats {
  sent: number;
  /** HTTP status -> count. */
  statuses: Record<string, number>;
  allowed: number;
  refused: number;
  /** No HTTP answer: reset, refused, timed out. */
  unanswered: number;
  firstUnanswered?: string;
  last?: { status: number; allowed?: boolean; message?: string; warnings?: string[]; at: number };
}

export type LoadReport = Record<string, AnswerStats>;

const ANSWER_TIMEOUT_MS = 10_000;

function send(start: LoadStart, agent: Agent | false, path: string, body: Buffer): Promise<{ status: number; text: string } | { error: string }> {
  const { port, ca, cert, key } = start;
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, agent, ca, ...(cert ? { cert, key } : {}), servername: 'localhost', timeout: ANSWER_TIMEOUT_MS, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

function run(start: LoadStart): { report(): LoadReport; stop(): Promise<LoadReport> } {
  const bodies = start.requests.map((item) => ({ ...item, bytes: Buffer.from(item.body, 'base64') }));
  const stats: LoadReport = Object.fromEntries(start.requests.map((item) => [item.name, { sent: 0, statuses: {}, allowed: 0, refused: 0, unanswered: 0 }]));
  const agent = new Agent({ keepAlive: true, maxSockets: start.connections, ...(start.cert ? { cert: start.cert, key: start.key } : {}) });
  let stopped = false;
  let next = 0;
  const one = async (connection: Agent | false): Promise<void> => {
    const item = bodies[next++ % bodies.length]!;
    const entry = stats[item.name]!;
    entry.sent++;
    const answer = await send(start, connection, item.path, item.bytes);
    if ('error' in answer) {
      entry.unanswered++;
      entry.firstUnanswered ??= answer.error;
      return;
    }
    entry.statuses[answer.status] = (entry.statuses[answer.status] ?? 0) + 1;
    let response: { allowed?: boolean; status?: { message?: string }; warnings?: string[] } | undefined;
    try {
      response = (JSON.parse(answer.text) as { response?: typeof response }).response;
    } catch {
      response = undefined;
    }
    if (response?.allowed === true) entry.allowed++;
    if (response?.allowed === false) entry.refused++;
    entry.last = {
      status: answer.status,
      ...(response ? { allowed: response.allowed ?? false, message: response.status?.message ?? '', warnings: response.warnings ?? [] } : {}),
      at: Date.now(),
    };
  };
  const loops = Array.from({ length: start.connections }, async () => {
    while (!stopped) await one(agent);
  });
  const inFlight = new Set<Promise<void>>();
  const fresh = setInterval(() => {
    const request = one(false).finally(() => inFlight.delete(request));
    inFlight.add(request);
  }, start.newConnectionEveryMs);
  return {
    report: () => stats,
    async stop() {
      stopped = true;
      clearInterval(fresh);
      await Promise.all([...loops, ...inFlight]);
      agent.destroy();
      return stats;
    },
  };
}

let running: ReturnType<typeof run> | undefined;
process.on('message', (message: LoadStart | { type: 'report' } | { type: 'stop' }) => {
  if (message.type === 'start') {
    running = run(message);
    process.send!({ type: 'started' });
  } else if (message.type === 'report') {
    process.send!({ type: 'report', report: running?.report() ?? {} });
  } else if (message.type === 'stop') {
    void (running?.stop() ?? Promise.resolve({})).then((report) => {
      process.send!({ type: 'report', report });
      process.disconnect();
    });
  }
});
