// The load generator of the end-to-end bench, in a process of its own: N writers, each on its
// own keep-alive HTTPS connection to kube-apiserver (as N kubectl clients or controllers
// would be), each sending the mix one request after another. Every request is timed from
// the first byte sent to the last byte of the answer, in microseconds.
//
// Started with fork(); receives {type: 'run', ...} messages and answers each with the results.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { MIX, mixRequest } from './mix.mjs';

let connection;
/** One pool per writer count: a writer count keeps its warm connections from round to round. */
const agents = new Map();

function agentFor(writers) {
  let agent = agents.get(writers);
  if (!agent) {
    agent = new Agent({
      keepAlive: true,
      maxSockets: writers,
      maxFreeSockets: writers,
      ca: readFileSync(connection.caFile),
      cert: readFileSync(connection.certFile),
      key: readFileSync(connection.keyFile),
    });
    agents.set(writers, agent);
  }
  return agent;
}

function send(agent, { method, path, contentType, body }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port: connection.port,
        method,
        path,
        headers: {
          accept: 'application/json',
          'user-agent': 'levee-bench-writer',
          ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** How many times each writer has gone through the mix, kept across runs: every write changes its object. */
const cycles = new Map();

/**
 * `writers` writers send `requests` requests in all, or as many as they start within `seconds`
 * when that is given (on a loaded machine a fixed count can take many times longer for one
 * target than for another): writer w sends the mix in order starting
 * at kind w, on its own objects, so the kinds interleave however many writers there are. Each
 * pass through the mix flips what the writer's apply, scale and cordon set, so no write is a
 * no-op (a no-op write is one the matchConditions rightly leave out).
 */
async function run({ writers, requests, seconds: budget, objects, seq }) {
  const agent = agentFor(writers);
  const latencies = new Float64Array(requests);
  const kinds = new Array(requests);
  const statuses = {};
  let firstError;
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = budget === undefined ? undefined : started + BigInt(Math.round(budget * 1e9));
  const writer = async (w) => {
    for (;;) {
      if (next >= requests || (deadline !== undefined && process.hrtime.bigint() >= deadline)) return;
      const i = next++;
      // The first pass is 1: pass 0 would apply, scale and cordon to what the objects already are.
      const step = cycles.get(w) ?? MIX.length + w;
      cycles.set(w, step + 1);
      const kind = MIX[step % MIX.length];
      const call = mixRequest(kind, objects[w], Math.floor(step / MIX.length), seq + i);
      const t0 = process.hrtime.bigint();
      let status = 0;
      try {
        const answer = await send(agent, call);
        status = answer.status;
        if (status !== 200 && status !== 201) firstError ??= `${kind}: HTTP ${status} ${answer.text.slice(0, 300)}`;
      } catch (err) {
        firstError ??= `${kind}: ${err.message}`;
      }
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
      kinds[i] = kind;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { requests: next, seconds, latencies: Array.from(latencies.subarray(0, next)), kinds: kinds.slice(0, next), statuses, firstError };
}

process.on('message', (message) => {
  if (message?.type === 'connect') {
    connection = message;
    process.send({ type: 'connected' });
    return;
  }
  if (message?.type === 'run') {
    run(message).then(
      (result) => process.send({ type: 'result', ...result }),
      (err) => process.send({ type: 'result', error: err.stack ?? err.message }),
    );
  }
});
process.on('disconnect', () => process.exit(0));
