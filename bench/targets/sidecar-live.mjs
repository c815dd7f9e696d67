// The sidecar design (bench/targets/sidecar.mjs) against a real cluster, for the end-to-end
// bench: the same express HTTPS front end and levee's pipeline, with caches filled by levee's
// own informers from the API server, asking `opa run --server` over loopback HTTP for each
// decision. It answers the routes levee registers, /validate, /validate/warn-only and /mutate,
// so the API server makes the same calls to it as to levee.
//   node bench/targets/sidecar-live.mjs --cert-dir D --opa-port P --kubeconfig K --config file.json
import express from 'express';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { followVerdicts, opaEvaluator, sidecarAnswer, sidecarServer } from '../sidecar-pipeline.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const { buildConfig } = await import(new URL('config.js', dist).href);
const { createLogger } = await import(new URL('logger.js', dist).href);
const { ClusterState } = await import(new URL('cluster/state.js', dist).href);
const { clusterOptionsFrom } = await import(new URL('cluster/options.js', dist).href);
const { startInformers } = await import(new URL('cluster/informers.js', dist).href);
const { loadKubeConfig } = await import(new URL('cluster/kubeconfig.js', dist).href);
const { subjectAccessReviewAuthorizer } = await import(new URL('cluster/authorizer.js', dist).href);

const { values } = parseArgs({
  options: {
    'cert-dir': { type: 'string' },
    'opa-port': { type: 'string' },
    kubeconfig: { type: 'string' },
    config: { type: 'string' },
  },
});
const config = buildConfig(values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {});
const kubeconfig = loadKubeConfig(values.kubeconfig);
const cluster = new ClusterState(clusterOptionsFrom(config));
const informers = startInformers(kubeconfig, cluster, createLogger('warn'));
const verdicts = await followVerdicts(config.probe.verdictFile);
const deps = { config, cluster, authorizer: subjectAccessReviewAuthorizer(kubeconfig), now: () => new Date(), verdict: verdicts.verdict };

const evaluate = opaEvaluator(Number(values['opa-port']), { maxSockets: 64 });

let decisions = 0;
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const reviewBody = express.json({ limit: 7 * 1024 * 1024, type: () => true, strict: false });
const route = (options) => (req, res, next) => {
  decisions++;
  sidecarAnswer(deps, req.body, evaluate, options).then((review) => res.json(review), next);
};
app.post('/validate', reviewBody, route({ route: 'validate' }));
app.post('/validate/warn-only', reviewBody, route({ route: 'validate', warnOnly: true }));
app.post('/mutate', reviewBody, route({ route: 'mutate' }));
const server = sidecarServer(values['cert-dir'], app);

const synced = () => cluster.allStores().every((store) => store.synced);
const waitForSync = async () => {
  while (!synced()) await new Promise((resolve) => setTimeout(resolve, 100));
};
await waitForSync();
server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('message', (message) => {
  if (message?.type === 'stats') process.send({ type: 'stats', decisions, objects: Object.fromEntries(cluster.stats().map((stats) => [stats.name, stats.size])) });
});
const stop = () => {
  informers.stop();
  verdicts.stop();
  process.exit(0);
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
