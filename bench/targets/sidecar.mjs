// The common sidecar design: the same express HTTPS front end (levee's decode, context and
// decide steps, same caches), asking `opa run --server` over loopback HTTP for each decision.
//   node bench/targets/sidecar.mjs --cert-dir D --opa-port P [--services N] [--nodes N] [--config file.json]
import express from 'express';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { followVerdicts, opaEvaluator, sidecarValidate, sidecarServer } from '../sidecar-pipeline.mjs';
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

const evaluate = opaEvaluator(Number(values['opa-port']), { maxSockets: 16 });

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/validate', express.json({ limit: 7 * 1024 * 1024, type: () => true, strict: false }), (req, res, next) => {
  sidecarValidate(deps, req.body, evaluate).then((review) => res.json(review), next);
});
const server = sidecarServer(values['cert-dir'], app);
server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('disconnect', () => process.exit(0));
