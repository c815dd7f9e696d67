// Before anything is timed: every target, registered with the API server in turn, must allow
// and refuse exactly what levee does on the bench's writes. Each write is sent as a
// server-side dry run (the webhooks see it as the real write, nothing is stored): the five
// writes of the mix, a scale to zero and an apply with replicas 0 of `checkout` (the only
// backend of Service `checkout`: refused), a scale to zero of `shared-a` (Service `shared`
// keeps `shared-b`: allowed) and a scale up of `checkout`.
import { formatTable } from '../report.mjs';
import { MIX, mixRequest } from './mix.mjs';
import { switchTo } from './registrations.mjs';

function withDryRun(path) {
  return `${path}${path.includes('?') ? '&' : '?'}dryRun=All`;
}

function checkWrites(namespace, objects) {
  const deployments = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  const merge = 'application/merge-patch+json';
  return [
    ...MIX.map((kind) => ({ name: kind, ...mixRequest(kind, objects, 1), refused: false })),
    { name: 'scale checkout to 0', method: 'PATCH', path: `${deployments}/checkout/scale`, contentType: merge, body: JSON.stringify({ spec: { replicas: 0 } }), refused: true },
    { name: 'apply checkout with replicas 0', method: 'PATCH', path: `${deployments}/checkout`, contentType: 'application/strategic-merge-patch+json', body: JSON.stringify({ spec: { replicas: 0 } }), refused: true },
    { name: 'scale shared-a to 0', method: 'PATCH', path: `${deployments}/shared-a/scale`, contentType: merge, body: JSON.stringify({ spec: { replicas: 0 } }), refused: false },
    { name: 'scale checkout to 3', method: 'PATCH', path: `${deployments}/checkout/scale`, contentType: merge, body: JSON.stringify({ spec: { replicas: 3 } }), refused: false },
  ];
}

function answerOf(status, text) {
  if (status === 200 || status === 201) return 'allowed';
  let message = text;
  try {
    message = JSON.parse(text).message ?? text;
  } catch {
    // not JSON: keep the text
  }
  return status === 403 && /scale-to-zero/.test(message) ? 'refused (scale-to-zero)' : `HTTP ${status}: ${message.slice(0, 200)}`;
}

export async function checkAnswers({ kubeconfig, api, namespace, targets, objects }) {
  const writes = checkWrites(namespace, objects);
  const answers = new Map();
  for (const target of targets) {
    await switchTo({ kubeconfig, api, namespace, target });
    const got = [];
    for (const write of writes) {
      const answer = await api.request(write.method, withDryRun(write.path), write.body, { contentType: write.contentType });
      got.push(answerOf(answer.status, answer.text));
    }
    answers.set(target.key, got);
  }
  const expected = (write, target) => (target.key === 'none' || !write.refused ? 'allowed' : 'refused (scale-to-zero)');
  const problems = [];
  for (const target of targets) {
    writes.forEach((write, i) => {
      const got = answers.get(target.key)[i];
      if (got !== expected(write, target)) problems.push(`${target.name}, ${write.name}: ${got}`);
      if (target.key !== 'none' && got !== answers.get('levee')[i]) problems.push(`${target.name}, ${write.name}: ${got}, levee: ${answers.get('levee')[i]}`);
    });
  }
  const lines = [
    '',
    'correctness check (server-side dry runs through kube-apiserver, each target registered alone):',
    '',
    formatTable(['write', ...targets.map((target) => target.name)], writes.map((write, i) => [write.name, ...targets.map((target) => answers.get(target.key)[i])])),
  ];
  if (problems.length > 0) throw new Error(`the targets do not answer alike:\n  ${problems.join('\n  ')}\n${lines.join('\n')}`);
  const refusals = writes.filter((write) => write.refused).length;
  return { lines, summary: `passed: ${writes.length} writes, ${refusals} refused by every webhook target and allowed with none, the rest allowed by all` };
}
