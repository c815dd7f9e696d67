// The hostile-load section of `npm run bench` (also alone: `npm run bench -- --bounds`): what a
// caller that is not the API server can make levee hold and how long a large review stalls its
// event loop. Issue 18 measured 40 unfinished bodies just under the body limit holding about
// 280 MiB, and a 6.85 MiB review blocking the event loop ~100 ms on /validate and ~280 ms on
// /mutate; this section repeats those measurements against the levee being built.
import { connect } from 'node:tls';
import { largeDeploymentUpdate } from './fixtures.mjs';
import { postJson } from './load.mjs';
import { formatTable } from './report.mjs';

const ISSUE_REVIEW_BYTES = Math.round(6.85 * 1048576);
const UNFINISHED = 40;

/**
 * @param {{ levee: { port: number, memory(): Promise<{rssMiB: number, heapUsedMiB: number, externalMiB: number}>,
 *   loopDelay: { reset(): Promise<unknown>, read(): Promise<{maxMs: number, p99Ms: number}> } },
 *   bodyLimit: number, ca: string, say: (line: string) => void, reviewsPerRoute?: number }} options
 * @returns {Promise<string[]>} the section's lines
 */
export async function hostileLoad({ levee, bodyLimit, ca, say, reviewsPerRoute = 10 }) {
  const lines = ['', `levee under hostile load (body limit ${mib(bodyLimit)} MiB)`, ''];
  const sizes = [...new Set([ISSUE_REVIEW_BYTES, largestReview(bodyLimit)])].sort((a, b) => a - b);

  say(`hostile load: ${reviewsPerRoute} large reviews per route and size (${sizes.map((size) => `${mib(size)} MiB`).join(', ')}), one at a time...`);
  const rows = [];
  for (const size of sizes) {
    const body = Buffer.from(JSON.stringify(largeDeploymentUpdate(size)));
    for (const path of ['/validate', '/mutate']) {
      await levee.loopDelay.reset();
      const statuses = new Map();
      const started = process.hrtime.bigint();
      for (let i = 0; i < reviewsPerRoute; i++) {
        const answer = await postJson({ port: levee.port, path, ca }, body).catch((err) => ({ status: err.code ?? 'error' }));
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
      const meanMs = Number(process.hrtime.bigint() - started) / 1e6 / reviewsPerRoute;
      const loop = await levee.loopDelay.read();
      rows.push([`${mib(body.length)} MiB`, path, describe(statuses), meanMs.toFixed(0), loop.maxMs.toFixed(1), loop.p99Ms.toFixed(1), loop.cpuMaxMs.toFixed(1)]);
    }
  }
  lines.push(formatTable(['review', 'route', 'answers', 'mean ms', 'loop stall max ms', 'loop stall p99 ms', 'busy stretch max ms (CPU)'], rows));
  lines.push('(loop stall: perf_hooks.monitorEventLoopDelay inside levee, wall clock, while those reviews flowed one at a time; busy stretch: the');
  lines.push(' main thread\'s CPU time between two ticks of a 1 ms timer, which leaves out time the machine did not run levee at all)');

  say(`hostile load: ${UNFINISHED} connections each sending a body just under the limit and never finishing it...`);
  const before = await levee.memory();
  const held = await unfinishedBodies(levee.port, ca, UNFINISHED, bodyLimit);
  const during = await levee.memory();
  const normal = await postJson({ port: levee.port, path: '/validate', ca }, Buffer.from(JSON.stringify(largeDeploymentUpdate(0)))).catch((err) => ({ status: err.message }));
  for (const socket of held.sockets) socket.destroy();
  lines.push('');
  lines.push(
    `${UNFINISHED} unfinished bodies of ${mib(held.declared)} MiB each: ${held.refused} answered at once (${describe(held.answers)}), ${held.sockets.length - held.refused} held open; ` +
      `levee RSS ${before.rssMiB.toFixed(0)} -> ${during.rssMiB.toFixed(0)} MiB (+${(during.rssMiB - before.rssMiB).toFixed(0)}), ` +
      `heap+external ${(before.heapUsedMiB + before.externalMiB).toFixed(0)} -> ${(during.heapUsedMiB + during.externalMiB).toFixed(0)} MiB, after a full collection; ` +
      `an ordinary review meanwhile: HTTP ${normal.status}`,
  );
  return lines;
}

/** The largest review that fits the limit: room for the envelope the API server adds around the objects. */
function largestReview(bodyLimit) {
  return bodyLimit - 16 * 1024;
}

/**
 * `count` TLS connections each announcing a body of just under `bodyLimit` bytes and sending all
 * of it but the last KiB, as fast as levee takes it. Resolves once each has sent its part or been
 * answered, with the sockets still open.
 */
async function unfinishedBodies(port, ca, count, bodyLimit) {
  const declared = bodyLimit - 64 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const answers = new Map();
  let refused = 0;
  const sockets = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
        let settled = false;
        let answered = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          resolve(socket);
        };
        // Answered (or cut off) before it could send its body: levee did not take it.
        const refuse = (status) => {
          if (answered || settled) return;
          answered = true;
          refused++;
          answers.set(status, (answers.get(status) ?? 0) + 1);
          settle();
        };
        socket.on('data', (data) => refuse(/^HTTP\/1\.1 (\d+)/.exec(data.toString('latin1'))?.[1] ?? 'data'));
        socket.on('error', () => refuse('reset'));
        socket.on('close', () => refuse('closed'));
        socket.once('secureConnect', async () => {
          socket.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n{"pad":"`);
          let sent = 0;
          while (!settled && sent + chunk.length < declared - 1024) {
            if (!socket.write(chunk)) await new Promise((drained) => socket.once('drain', drained));
            sent += chunk.length;
          }
          // Everything written has reached levee's socket buffers: give it a moment to read it all.
          setTimeout(settle, 1000);
        });
      }),
    ),
  );
  return { sockets, refused, answers, declared };
}

function describe(statuses) {
  return [...statuses].map(([status, n]) => `${n}x ${status}`).join(', ') || 'none';
}

function mib(bytes) {
  return (bytes / 1048576).toFixed(2);
}
