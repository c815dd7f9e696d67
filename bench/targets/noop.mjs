// The ceiling: an express HTTPS handler that parses the review and answers a fixed allow,
// with the same TLS, body limit and keep-alive settings as levee.
import express from 'express';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'cert-dir': { type: 'string' } } });
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/validate', express.json({ limit: 7 * 1024 * 1024, type: () => true, strict: false }), (req, res) => {
  res.json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req.body?.request?.uid ?? '', allowed: true } });
});
const server = createServer({ cert: readFileSync(join(values['cert-dir'], 'tls.crt')), key: readFileSync(join(values['cert-dir'], 'tls.key')), minVersion: 'TLSv1.2' }, app);
server.keepAliveTimeout = 95_000;
server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('disconnect', () => process.exit(0));
