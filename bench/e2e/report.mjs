// The end-to-end bench's report: the latency table, memory, the targets and how the run went.
import { cpus, loadavg } from 'node:os';
import { formatTable, verdictLine } from '../report.mjs';
import { MIX } from './mix.mjs';
import { pairedRatio } from './summary.mjs';

/** The writer count the latency targets are read at. */
const TARGET_WRITERS = 16;

export function report({ summary, memory, counts, writers, check, crdCount, gatekeeper, quick, breakdown, started, loadAtStart }) {
  const lines = [];
  const out = (line = '') => lines.push(line);
  out();
  out(`levee bench:e2e: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version}; writes through kube-apiserver (local cluster), each target registered in turn`);
  const load = (values) => values.map((value) => value.toFixed(1)).join(' / ');
  out(`machine load average (1/5/15 min) when the bench started: ${load(loadAtStart)}, when it ended: ${load(loadavg())}`);
  out(`mix, round robin per writer: ${MIX.join(', ')}; per target, ${counts.rounds} interleaved round(s) of ${counts.seconds} s (after ${counts.warmSeconds} s of warm-up) at each of ${writers.join(', ')} writer(s)`);
  out(`Gatekeeper: ${crdCount} CRDs from its module's chart; flags ${gatekeeper.args.join(' ')}`);
  out();
  out(formatTable(
    ['target', 'writers', 'writes/s', 'p50 ms', 'p99 ms', 'added p99', 'apiserver CPU s/1k', 'webhook CPU s/1k', 'webhook calls/1k', 'handshakes/1k', 'errors'],
    summary.rows.map((row) => [row.name, String(row.writers), row.rps.toFixed(1), row.p50.toFixed(2), row.p99.toFixed(2), row.key === 'none' ? '-' : `${row.addedP99 >= 0 ? '+' : ''}${row.addedP99.toFixed(2)} ms (${(row.addedP99Share * 100).toFixed(0)}%)`, row.apiserverCpu.toFixed(2), row.key === 'none' ? '-' : row.webhookCpu.toFixed(2), row.key === 'none' ? '-' : row.calls.toFixed(0), row.connections === undefined ? '-' : row.connections.toFixed(1), String(row.errors)]),
  ));
  out('(p50/p99: each write as the writer saw it, through kube-apiserver; added p99: against no webhook at the same writer count; CPU from /proc/<pid>/stat;');
  out(' handshakes: TLS connections levee\'s listener completed, levee_connections_total{stage="tls"})');
  out();
  out('where a write\'s webhook time went, in ms per write (seconds per 1000 writes), from the API server\'s and each webhook\'s own metrics:');
  out();
  const waits = summary.rows.filter((row) => row.key !== 'none');
  const perCall = (ms, row) => (row.calls > 0 ? (ms / row.calls) * 1000 : 0);
  out(formatTable(
    ['target', 'writers', 'calls/1k', 'API server waited on calls', 'in the webhook', 'outside it', 'waited per call', 'in the webhook per call', 'matchConditions that left writes out'],
    waits.map((row) => [
      row.name,
      String(row.writers),
      row.calls.toFixed(0),
      row.apiserverWaitMs.toFixed(3),
      row.answeringMs === undefined ? '-' : row.answeringMs.toFixed(3),
      row.answeringMs === undefined ? '-' : (row.apiserverWaitMs - row.answeringMs).toFixed(3),
      perCall(row.apiserverWaitMs, row).toFixed(3),
      row.answeringMs === undefined ? '-' : perCall(row.answeringMs, row).toFixed(3),
      row.conditionsMs.toFixed(3),
    ]),
  ));
  out('(API server waited on calls: apiserver_admission_webhook_admission_duration_seconds summed over the target\'s webhook entries (validating ones run side by side),');
  out(' from after an entry\'s matchConditions to the answer read; in the webhook: levee_admission_duration_seconds, gatekeeper_validation_request_duration_seconds,');
  out(' each from the decoded review to the answer (the sidecar keeps no such count); outside it: the API server\'s side and the connection;');
  out(' matchConditions: apiserver_admission_match_condition_evaluation_seconds, which k8s.io/apiserver records only for conditions that leave a write out;');
  out(' conditions that let a write through are timed nowhere, so the conditions\' whole cost is more than this column)');
  out();
  out('the same per webhook entry at 16 writers, per 1000 writes: the calls the API server made and the writes its matchConditions left out (every');
  out('write an entry\'s rules and selectors take is one or the other), the ms per write it waited on those calls and spent in conditions that left writes out:');
  out();
  out(formatTable(
    ['target', 'webhook entry', 'calls/1k', 'left out/1k', 'waited on calls', 'matchConditions that left writes out'],
    waits.filter((row) => row.writers === 16).flatMap((row) => Object.entries(row.entries ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([name, entry]) => [
      row.name,
      name,
      entry.calls.toFixed(0),
      entry.exclusions.toFixed(0),
      entry.waited.toFixed(3),
      entry.conditions.toFixed(3),
    ])),
  ));
  out('(by the `name` label of apiserver_admission_webhook_admission_duration_seconds_count and _sum, apiserver_admission_match_condition_exclusions_total');
  out(' and apiserver_admission_match_condition_evaluation_seconds_sum; an entry whose rules match no write of the mix is not listed)');
  if (breakdown) {
    out();
    out('reviews levee was sent, per 1000 writes, by route, requester, resource and operation (--breakdown: levee logging every decision):');
    out();
    const logged = summary.rows.filter((row) => row.logged);
    const keys = [...new Set(logged.flatMap((row) => Object.keys(row.logged)))].sort();
    out(formatTable(['route', 'user', 'resource', 'operation', ...logged.map((row) => `${row.name}, ${row.writers}`)], keys.map((key) => [...key.split(' '), ...logged.map((row) => (row.logged[key] ?? 0).toFixed(0))])));
    out();
    out('the writes sent in the same chunks, per 1000 writes, by kind of the mix (a cordon write is a cordon or an uncordon, in turn):');
    out();
    out(formatTable(['write', ...logged.map((row) => `${row.name}, ${row.writers}`)], MIX.map((kind) => [kind, ...logged.map((row) => (row.sent[kind] ?? 0).toFixed(0))])));
  }
  out();
  out(formatTable(
    ['webhook', `RSS MiB, ${counts.small / 1000}k Services+Pods`, `RSS MiB, ${counts.large / 1000}k Services+Pods`],
    memory.small.map((entry, i) => [entry.name, formatRss(entry.rss), formatRss(memory.large[i].rss)]),
  ));
  out('(resident set size from /proc/<pid>/status; the sidecar is the Node.js front end + opa)');
  out();
  const rssLarge = (key) => memory.large.find((entry) => entry.key === key)?.rss.reduce((a, b) => a + b, 0);
  const webhookKeys = summary.rows.filter((r) => r.writers === writers[0] && r.key !== 'none').map((r) => [r.key, r.name]);
  out(`added p99 round by round, ms against the floor of the same round (share of that floor), at ${writers.join(', ')} writer(s):`);
  out();
  out(formatTable(
    ['writers', 'round', 'floor p99 ms', ...webhookKeys.map(([, name]) => name)],
    summary.rounds.map((round) => [String(round.writers), String(round.round), round.p99.none.toFixed(2), ...webhookKeys.map(([key]) => (key in round.added ? `${signed(round.added[key])} (${(round.share[key] * 100).toFixed(0)}%)` : '-'))]),
  ));
  out('(pooled, the table above: every write of every round in one p99; paired, the targets below: the median over rounds of each round\'s own reading,');
  out(' which a slow spell of the shared machine in one round moves on both sides)');
  out();
  out('targets:');
  for (const line of latencyTargets(summary, writers)) out(line);
  out(verdictLine(rssLarge('levee') < rssLarge('gatekeeper'), `levee's RSS with ${counts.large / 1000}k Services+Pods is ${(rssLarge('levee') / rssLarge('gatekeeper')).toFixed(2)}x Gatekeeper's (target < 1.00x)`));
  out();
  out(`correctness check: ${check.summary}`);
  out(`whole run: ${((Date.now() - started) / 1000).toFixed(0)} s${quick ? ' (--quick: fewer writes and a smaller large cluster; numbers are rough)' : ''}`);
  return lines;
}

/** The two latency targets at TARGET_WRITERS, pooled and paired side by side; passing only if both readings do. */
function latencyTargets(summary, writers) {
  if (!writers.includes(TARGET_WRITERS)) return [`(latency targets not read: they are set at ${TARGET_WRITERS} writers, and this run measured ${writers.join(', ')})`];
  const pooled = (key) => summary.rows.find((r) => r.key === key && r.writers === TARGET_WRITERS);
  const L = pooled('levee');
  const G = pooled('gatekeeper');
  const paired = pairedRatio(summary.rounds, { writers: TARGET_WRITERS, key: 'levee', reference: 'gatekeeper' });
  const pct = (share) => `${(share * 100).toFixed(1)}%`;
  const pooledRatio = L.addedP99 / G.addedP99;
  const unusable = paired.unusable > 0 ? `; ${paired.unusable} round(s) where Gatekeeper added nothing give no ratio` : '';
  return [
    verdictLine(
      L.addedP99Share <= 0.1 && paired.share <= 0.1,
      `levee adds ${pct(L.addedP99Share)} pooled, ${pct(paired.share)} paired (median of ${paired.rounds} rounds) to the write p99 at ${TARGET_WRITERS} writers (target <= 10%)`,
    ),
    verdictLine(
      G.addedP99 > 0 && pooledRatio <= 0.5 && paired.ratio <= 0.5,
      `levee's added p99 is ${pooledRatio.toFixed(2)}x pooled, ${paired.ratio.toFixed(2)}x paired Gatekeeper's on the same rule at ${TARGET_WRITERS} writers (target <= 0.50x)${unusable}`,
    ),
  ];
}

function signed(ms) {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
}

function formatRss(values) {
  const total = values.reduce((a, b) => a + b, 0);
  return values.length > 1 ? `${total.toFixed(0)} (${values.map((v) => v.toFixed(0)).join(' + ')})` : total.toFixed(0);
}
