// The common sidecar design: the same express HTTPS front end (levee's decode, context and
// decide steps, same caches), asking `opa run --server` over loopback HTTP for each decision.
//   node bench/targets/sidecar.mjs --cert-dir D --opa-port P [--services N] [--nodes N] [--config file.json]
import express from 'express';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { followVerdicts, sidecarValidate } from '../sidecar-pipeline.mjs';
import { syntheticCluster } from '../synthetic-cluster.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const { buildConfig } = await import(new URL('config.js', dist).href);
const { offlineAuthorizer } = await import(new URL('cluster/authorizer.js', dist).href);

const { values } = parseArgs({
  options: {
    'cert-dir': { type: 'string' },
    'opa-port': { type: 'string' },
    services: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '5000' },
    config: { type: 'string' },
  },
});
const config = buildConfig(values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {});
const cluster = await syntheticCluster({ services: Number(values.services), nodes: Number(values.nodes), config });
const { verdict } = await followVerdicts(config.probe.verdictFile);
const deps = { config, cluster, authorizer: offlineAuthorizer, now: () => new Date(), verdict };

const opa = new Agent({ keepAlive: true, maxSockets: 16 });
function evaluate(input) {
  const body = JSON.stringify({ input });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: Number(values['opa-port']), method: 'POST', path: '/v1/data/levee/decision', agent: opa, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode !== 200 || !answer.result) reject(new Error(`opa answered ${res.statusCode}: ${JSON.stringify(answer).slice(0, 200)}`));
          else resolve(answer.result);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/validate', express.json({ limit: 7 * 1024 * 1024, type: () => true, strict: false }), (req, res, next) => {
  sidecarValidate(deps, req.body, evaluate).then((review) => res.json(review), next);
});
const server = createServer({ cert: readFileSync(join(values['cert-dir'], 'tls.crt')), key: readFileSync(join(values['cert-dir'], 'tls.key')), minVersion: 'TLSv1.2' }, app);
server.keepAliveTimeout = 95_000;
server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('disconnect', () => process.exit(0));
