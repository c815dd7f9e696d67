// The fuzzer's load generator, in a process of its own (forked by bench/fuzz/run.mjs): makes
// hostile reviews from a seeded random stream, sends them to levee over keep-alive HTTPS, and
// checks every answer: no transport error, no 5xx, an AdmissionReview answering the same uid
// on 200, an error code on 4xx, and never `allowed: true` for a body that does not carry a
// judgeable request (the independent oracle in test/support/fuzz.ts).
import { Agent, request } from 'node:https';
import { seedReviews } from './reviews.mjs';
import { mutants } from './mutants.mjs';

const { carriesJudgeableRequest } = await import(new URL('../../dist/test/support/fuzz.js', import.meta.url).href);
const ANSWER_TIMEOUT_MS = 15_000;
const KEPT_EXAMPLES = 5;

function send(options, body, headers) {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: options.port, method: 'POST', path: body.path, agent: options.agent, ca: options.ca, servername: 'localhost', timeout: ANSWER_TIMEOUT_MS, headers: { ...headers, 'content-length': body.bytes.length } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body.bytes);
  });
}

/** What the body carries, read as levee reads it (UTF-8, a byte-order mark dropped). */
function oracle(bytes) {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  try {
    const value = JSON.parse(text);
    return { judgeable: carriesJudgeableRequest(value), uid: value?.request?.uid };
  } catch {
    return { judgeable: false, uid: undefined };
  }
}

/** What is wrong with an answer, if anything, and whether it allowed the request. */
function check(answer, judgeable, uid) {
  if (answer.error) return { problem: `no answer: ${answer.error}` };
  if (answer.status >= 500) return { problem: `HTTP ${answer.status}: ${answer.text.slice(0, 200)}` };
  let parsed;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return { problem: `HTTP ${answer.status} with a body that is not JSON: ${answer.text.slice(0, 200)}` };
  }
  if (answer.status !== 200) return typeof parsed?.code === 'string' ? {} : { problem: `HTTP ${answer.status} without an error code` };
  const allowed = parsed?.response?.allowed;
  if (parsed?.kind !== 'AdmissionReview' || typeof allowed !== 'boolean') return { problem: 'HTTP 200 that is not an AdmissionReview with a response' };
  if (typeof uid === 'string' && parsed.response.uid !== uid) return { allowed, problem: `answered uid ${JSON.stringify(parsed.response.uid)} for ${JSON.stringify(uid)}` };
  if (allowed && !judgeable) return { allowed, problem: 'allowed a body that carries no judgeable request' };
  return { allowed };
}

async function run({ port, ca, count, seed, connections }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const stream = mutants(seedReviews(), seed);
  const stats = { sent: 0, statuses: {}, allowed: 0, refused: 0, judgeable: 0, unanswered: 0, fiveHundreds: 0, malformedAllowed: 0, wrongUid: 0, other: 0, failures: [], byStrategy: {} };
  const started = Date.now();
  let next = 0;
  let lastProgress = 0;
  const worker = async () => {
    for (;;) {
      if (next >= count) return;
      next++;
      const body = stream.next();
      const { judgeable, uid } = oracle(body.bytes);
      if (judgeable) stats.judgeable++;
      stats.byStrategy[body.strategy] = (stats.byStrategy[body.strategy] ?? 0) + 1;
      const answer = await send({ port, ca, agent: body.freshConnection ? false : agent }, body, body.headers);
      stats.sent++;
      if (!answer.error) stats.statuses[answer.status] = (stats.statuses[answer.status] ?? 0) + 1;
      const { problem, allowed } = check(answer, judgeable, uid);
      if (allowed === true) stats.allowed++;
      if (allowed === false) stats.refused++;
      if (problem) {
        if (answer.error) stats.unanswered++;
        else if (answer.status >= 500) stats.fiveHundreds++;
        else if (problem.startsWith('allowed a body')) stats.malformedAllowed++;
        else if (problem.startsWith('answered uid')) stats.wrongUid++;
        else stats.other++;
        if (stats.failures.length < KEPT_EXAMPLES) stats.failures.push({ problem, strategy: body.strategy, path: body.path, headers: body.headers, body: body.bytes.toString('base64').slice(0, 20_000) });
      }
      if (stats.sent - lastProgress >= 10_000) {
        lastProgress = stats.sent;
        process.send({ type: 'progress', sent: stats.sent, seconds: (Date.now() - started) / 1000 });
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return { ...stats, seconds: (Date.now() - started) / 1000 };
}

process.on('message', (message) => {
  if (message?.type !== 'start') return;
  run(message).then(
    (report) => process.send({ type: 'report', report }, () => process.exit(0)),
    (err) => process.send({ type: 'error', message: err.stack ?? String(err) }, () => process.exit(1)),
  );
});
