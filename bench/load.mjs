// The load generator: Node's own HTTPS client over keep-alive connections, timing every
// request with process.hrtime.bigint (microseconds: a no-op handler answers in well under a
// millisecond, so whole milliseconds would hide the differences).
import { Agent, request } from 'node:https';

/**
 * A target: where to send (port, path), what to send (pre-serialized bodies, sent round
 * robin), and the CA to trust. One load per target keeps its connections warm across runs.
 */
export function createLoad({ port, path, bodies, ca }) {
  const pools = new Map();
  const agentFor = (connections) => {
    let agent = pools.get(connections);
    if (!agent) pools.set(connections, (agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, keepAliveMsecs: 1000 })));
    return agent;
  };
  let sent = 0;

  /** `requests` requests over `connections` keep-alive connections, each connection sending the next as soon as its answer arrives. */
  async function run(connections, requests) {
    const agent = agentFor(connections);
    const latencies = new Float64Array(requests);
    let next = 0;
    let errors = 0;
    let firstError;
    const started = process.hrtime.bigint();
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= requests) return;
        const body = bodies[(sent + i) % bodies.length];
        const t0 = process.hrtime.bigint();
        try {
          const status = await post(agent, port, path, body, ca);
          if (status !== 200) {
            errors++;
            firstError ??= `HTTP ${status}`;
          }
        } catch (err) {
          errors++;
          firstError ??= err.message;
        }
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    sent += requests;
    return { requests, seconds, rps: requests / seconds, latencies, errors, firstError };
  }

  return {
    saturate: (requests, connections = 16) => run(connections, requests),
    serial: (requests) => run(1, requests),
    close: () => {
      for (const agent of pools.values()) agent.destroy();
    },
  };
}

function post(agent, port, path, body, ca) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, ca, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One request, answer parsed: for checking answers before anything is timed. */
export function postJson({ port, path, ca }, body, agent = undefined) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, ca, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode, body: text });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function getText({ port, path, ca }) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The q-quantile (0..1) of samples, nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Merges runs of the same kind: total requests over total time, quantiles over every sample. */
export function summarize(runs) {
  const total = runs.reduce((sum, run) => sum + run.requests, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const run of runs) {
    all.set(run.latencies, offset);
    offset += run.latencies.length;
  }
  all.sort();
  return {
    requests: total,
    rps: total / seconds,
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    firstError: runs.find((run) => run.firstError)?.firstError,
  };
}
