// `npm run bench`: levee's /validate against a no-op express handler (the ceiling), the
// sidecar design (express + `opa run --server` over loopback HTTP) and opa alone over HTTPS,
// measured side by side in one run; then levee's latency as the caches grow and as the node
// count grows, and its memory after 20k and 200k decisions. Every target runs in its own process.
import { deepStrictEqual } from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostileLoad } from './bounds.mjs';
import { benchReviews, verdictDocument } from './fixtures.mjs';
import { createLoad, getText, postJson, summarize } from './load.mjs';
import { preparePolicies, startOpa } from './opa.mjs';
import { startNodeTarget } from './processes.mjs';
import { formatTable, histogramQuantile, parseHistogram, ratio, verdictLine } from './report.mjs';
import { decodeAdmissionReview, followVerdicts, policyInput } from './sidecar-pipeline.mjs';
import { syntheticCluster } from './synthetic-cluster.mjs';

const dist = new URL('../dist/src/', import.meta.url);
const BUNDLE = new URL('../dist/policies/bundle.tar.gz', import.meta.url).pathname;
const target = (name) => new URL(`targets/${name}.mjs`, import.meta.url).pathname;

const FULL = { warmSaturated: 5000, warmSerial: 1000, rounds: 4, saturated: 2500, serial: 750, rssFirst: 20_000, rssLast: 200_000 };
const QUICK = { warmSaturated: 500, warmSerial: 100, rounds: 2, saturated: 1000, serial: 300, rssFirst: 2_000, rssLast: 20_000 };
/** Services/Pods for the first scaling table, each with NODES Nodes. */
const SCALES = [1_000, 10_000, 50_000];
const NODES = 5_000;
/** Nodes for the second, each with SCALES[0] Services/Pods. */
const NODE_SCALES = [100, 1_000, 5_000, 20_000];

const say = (message) => process.stderr.write(`bench: ${message}\n`);

/**
 * The Node.js flags levee's image runs it with (the Dockerfile's ENTRYPOINT and NODE_OPTIONS),
 * so the bench measures levee as it ships. Every Node target gets the same flags.
 */
export function imageNodeFlags(dockerfile = new URL('../Dockerfile', import.meta.url)) {
  if (!existsSync(dockerfile)) return [];
  const text = readFileSync(dockerfile, 'utf8');
  const flags = [];
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)?.[1];
  if (entrypoint) {
    const argv = JSON.parse(entrypoint);
    if (argv[0] === 'node') flags.push(...argv.slice(1).filter((arg) => arg.startsWith('--')));
  }
  const nodeOptions = /^ENV\s+.*\bNODE_OPTIONS=("([^"]*)"|(\S+))/m.exec(text);
  if (nodeOptions) flags.push(...(nodeOptions[2] ?? nodeOptions[3]).split(/\s+/).filter(Boolean));
  return flags;
}

export async function runBench({ opaPath, quick = false, boundsOnly = false, nodeFlags = imageNodeFlags() }) {
  const counts = quick ? QUICK : FULL;
  const { buildConfig } = await import(new URL('config.js', dist).href);
  const { generateCerts, writeCerts } = await import(new URL('certs/generate.js', dist).href);
  const { readBundle } = await import(new URL('engine/bundle.js', dist).href);
  const { PolicyEvaluator } = await import(new URL('engine/evaluator.js', dist).href);
  const { offlineAuthorizer } = await import(new URL('cluster/authorizer.js', dist).href);

  const work = mkdtempSync(join(tmpdir(), 'levee-bench-'));
  const running = [];
  const started = Date.now();
  let verdictTimer;
  try {
    const certDir = join(work, 'certs');
    const certs = await generateCerts({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays: 1 });
    const certFiles = writeCerts(certDir, certs);
    const ca = certs.caCert;
    // A Healthy probe verdict, rewritten every 10 s as `levee probe` does, read by levee and the sidecar alike.
    const verdictFile = join(work, 'verdict.json');
    let verdictRun = 0;
    const writeVerdict = () => {
      writeFileSync(`${verdictFile}.new`, JSON.stringify(verdictDocument('Healthy', ++verdictRun)));
      renameSync(`${verdictFile}.new`, verdictFile);
    };
    writeVerdict();
    verdictTimer = setInterval(writeVerdict, 10_000);
    const layer = { probe: { verdictFile } };
    const configFile = join(work, 'config.json');
    writeFileSync(configFile, JSON.stringify(layer));
    const config = buildConfig(layer);
    const reviews = benchReviews();
    const bodies = reviews.map(({ review }) => Buffer.from(JSON.stringify(review)));
    const args = (services, nodes = NODES) => ['--cert-dir', certDir, '--services', String(services), '--nodes', String(nodes), '--config', configFile];
    const boundsSection = async () => {
      const levee = track(await startNodeTarget(target('levee'), args(SCALES[0]), { execArgv: [...nodeFlags, '--expose-gc'] }));
      const section = await hostileLoad({ levee, bodyLimit: config.server.bodyLimitBytes, ca, say, reviewsPerRoute: quick ? 4 : 10 });
      await levee.stop();
      printNow(section);
      return section;
    };
    const track = (process) => (running.push(process), process);
    if (boundsOnly) return (await boundsSection()).join('\n');

    // What opa alone is asked: the input levee hands its bundle for each review.
    const small = await syntheticCluster({ services: 100, nodes: 100, config });
    const { verdict } = await followVerdicts(verdictFile, { watch: false });
    const fixedNow = new Date();
    const inputs = reviews.map(({ review }) => {
      const decoded = decodeAdmissionReview(review);
      return policyInput({ config, cluster: small, authorizer: offlineAuthorizer, now: () => fixedNow, verdict }, decoded.request, fixedNow).input;
    });
    const evaluator = await PolicyEvaluator.load(readBundle(BUNDLE), { config: { policies: config.policies } });
    const expectedViolations = inputs.map((input) => evaluator.evaluate(input).violations);
    const opaBodies = inputs.map((input) => Buffer.from(JSON.stringify({ input })));

    say(`starting targets (levee with ${SCALES[0]} Services/Pods and ${NODES} Nodes)...`);
    const opaFiles = preparePolicies(BUNDLE, join(work, 'opa'), config.policies);
    const node = { execArgv: nodeFlags };
    const noop = track(await startNodeTarget(target('noop'), ['--cert-dir', certDir], node));
    const levee = track(await startNodeTarget(target('levee'), args(SCALES[0]), node));
    const opaHttp = track(await startOpa(opaPath, opaFiles));
    const sidecar = track(await startNodeTarget(target('sidecar'), [...args(SCALES[0]), '--opa-port', String(opaHttp.port)], node));
    const opaHttps = track(await startOpa(opaPath, opaFiles, { tls: { certFile: certFiles.certFile, keyFile: certFiles.keyFile, ca } }));

    const targets = [
      { name: 'no-op express (ceiling)', key: 'noop', port: noop.port, path: '/validate', bodies },
      { name: 'levee', key: 'levee', port: levee.port, path: '/validate', bodies },
      { name: 'express + opa sidecar', key: 'sidecar', port: sidecar.port, path: '/validate', bodies },
      { name: 'opa alone, HTTPS', key: 'opa', port: opaHttps.port, path: '/v1/data/levee/decision', bodies: opaBodies },
    ];

    const answers = await checkAnswers({ targets, reviews, opaBodies, expectedViolations, ca });
    for (const { name, answer } of answers) say(`  ${name}: levee answers ${describeAnswer(answer)}; the sidecar answers the same`);

    say(`measuring ${targets.length} targets in ${counts.rounds} interleaved rounds...`);
    const loads = new Map(targets.map((t) => [t.key, createLoad({ port: t.port, path: t.path, bodies: t.bodies, ca })]));
    for (const t of targets) await warm(loads.get(t.key), counts);
    const before = parseHistogram((await getText({ port: levee.port, path: '/metrics', ca })).text);
    const results = await measureRounds(targets, loads, counts);
    const after = parseHistogram((await getText({ port: levee.port, path: '/metrics', ca })).text);
    const inServer = histogramQuantile(before, after, 0.99);

    const lines = [];
    const out = (line = '') => lines.push(line);
    out(`levee bench: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version}; each target in its own process`);
    out(`reviews, round robin: ${reviews.map((r, i) => `${r.name} (${(bodies[i].length / 1024).toFixed(1)} KiB, ${describeAnswer(answers[i].answer)})`).join(', ')}`);
    out(`caches: ${SCALES[0]} Services and Pods, ${NODES} Nodes; saturation = 16 keep-alive connections, serial = 1`);
    out(`node flags given to every Node target (by default those of levee's image): ${nodeFlags.length > 0 ? nodeFlags.join(' ') : '(none)'}`);
    out();
    out(formatTable(
      ['target', 'saturation req/s', 'p50 µs', 'p99 µs', 'serial p50 µs', 'serial p99 µs', 'errors'],
      targets.map((t) => {
        const r = results.get(t.key);
        return [t.name, r.saturated.rps.toFixed(0), r.saturated.p50.toFixed(0), r.saturated.p99.toFixed(0), r.serial.p50.toFixed(0), r.serial.p99.toFixed(0), String(r.saturated.errors + r.serial.errors)];
      }),
    ));
    out();
    const L = results.get('levee');
    const N = results.get('noop');
    const S = results.get('sidecar');
    out(`levee in-server decision time (levee_admission_duration_seconds, decode to response): p99 ${inServer.estimateMs.toFixed(3)} ms (bucket le ${inServer.bucketMs} ms, ${inServer.count} decisions)`);
    out();
    out('ratios and targets:');
    out(verdictLine(L.saturated.rps >= 0.6 * N.saturated.rps, `throughput vs no-op: ${ratio(L.saturated.rps, N.saturated.rps)} (target >= 0.60x)`));
    out(verdictLine(L.saturated.rps >= 1.5 * S.saturated.rps, `throughput vs sidecar: ${ratio(L.saturated.rps, S.saturated.rps)} (target >= 1.50x)`));
    out(verdictLine(L.saturated.p99 < S.saturated.p99, `saturation p99 vs sidecar: ${ratio(L.saturated.p99, S.saturated.p99)} (target < 1.00x)`));
    out(verdictLine(L.serial.p99 <= 1.5 * N.serial.p99, `serial p99 vs no-op: ${ratio(L.serial.p99, N.serial.p99)} (target <= 1.50x)`));
    out(verdictLine(inServer.fractionUnder1ms >= 0.99, `in-server p99 under 1 ms: ${(inServer.fractionUnder1ms * 100).toFixed(2)}% of decisions took <= 1 ms (target >= 99%)`));
    out(`  (reference, no target) opa alone over HTTPS vs levee: ${ratio(results.get('opa').saturated.rps, L.saturated.rps)} throughput, serial p99 ${ratio(results.get('opa').serial.p99, L.serial.p99)}`);
    printNow(lines);

    for (const t of targets) loads.get(t.key).close();
    for (const process of [noop, levee, sidecar, opaHttp, opaHttps]) await process.stop();

    // Latency as the caches grow, then as the node count grows. These levees also get
    // --expose-gc, only so that their memory can be read after a full collection at the end.
    const startLevee = ({ services, nodes }) => startNodeTarget(target('levee'), args(services, nodes), { execArgv: [...nodeFlags, '--expose-gc'] });
    const compare = (table) => compareSizes({ ...table, startLevee, bodies, answers, ca, counts, track });
    const scaleLines = await compare({
      what: 'Services/Pods',
      sizes: SCALES.map((services) => ({ services, nodes: NODES })),
      label: ({ services }) => `${services} Services/Pods`,
      heading: `levee as the caches grow (${NODES} Nodes each)`,
      checked: 'scale to 0',
    });
    const nodeLines = await compare({
      what: 'Nodes',
      sizes: NODE_SCALES.map((nodes) => ({ services: SCALES[0], nodes })),
      label: ({ nodes }) => `${nodes} Nodes`,
      heading: `levee as the node count grows (${SCALES[0]} Services/Pods each; the cordon review reads the node aggregates)`,
      checked: 'Node cordon',
    });

    // Memory after many decisions, on a fresh levee, measured after a full collection.
    say(`memory: ${counts.rssLast} decisions on a fresh levee...`);
    const fresh = track(await startNodeTarget(target('levee'), args(SCALES[0]), { execArgv: [...nodeFlags, '--expose-gc'] }));
    const memoryLoad = createLoad({ port: fresh.port, path: '/validate', bodies, ca });
    const early = await memoryLoad.saturate(counts.rssFirst);
    const first = await fresh.memory();
    const rest = await memoryLoad.saturate(counts.rssLast - counts.rssFirst);
    const last = await fresh.memory();
    memoryLoad.close();
    await fresh.stop();
    const k = (n) => `${n / 1000}k`;
    const memoryLines = [
      '',
      `memory after a full GC: RSS ${first.rssMiB.toFixed(1)} MiB (heap ${first.heapUsedMiB.toFixed(1)} MiB) after ${k(counts.rssFirst)} decisions, RSS ${last.rssMiB.toFixed(1)} MiB (heap ${last.heapUsedMiB.toFixed(1)} MiB) after ${k(counts.rssLast)}; ${rest.rps.toFixed(0)} req/s, ${early.errors + rest.errors} errors`,
      verdictLine(last.rssMiB <= 1.1 * first.rssMiB, `RSS after ${k(counts.rssLast)} decisions vs after ${k(counts.rssFirst)}: ${ratio(last.rssMiB, first.rssMiB)} (target <= 1.10x)`),
      '',
      `whole run: ${((Date.now() - started) / 1000).toFixed(0)} s${quick ? ' (--quick: fewer requests, numbers are rough)' : ''}`,
    ];
    printNow(memoryLines);
    const boundsLines = await boundsSection();
    return [...lines, ...scaleLines, ...nodeLines, ...memoryLines, ...boundsLines].join('\n');
  } finally {
    clearInterval(verdictTimer);
    for (const process of running) await process.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

function printNow(lines) {
  process.stdout.write(`${lines.join('\n')}\n`);
}

function describeAnswer(review) {
  const response = review?.response ?? {};
  if (!response.allowed) return `denied (${response.status?.code})`;
  return response.warnings?.length ? `allowed with ${response.warnings.length} warning(s)` : 'allowed';
}

/** Before timing anything: levee and the sidecar give the same answer to every review, and opa alone the same violations as levee's bundle. */
async function checkAnswers({ targets, reviews, opaBodies, expectedViolations, ca }) {
  const byKey = Object.fromEntries(targets.map((t) => [t.key, t]));
  const ask = (key, body) => postJson({ port: byKey[key].port, path: byKey[key].path, ca }, body);
  const answers = [];
  for (let i = 0; i < reviews.length; i++) {
    const body = Buffer.from(JSON.stringify(reviews[i].review));
    const levee = await ask('levee', body);
    const sidecar = await ask('sidecar', body);
    const noop = await ask('noop', body);
    if (levee.status !== 200 || sidecar.status !== 200 || noop.status !== 200) {
      throw new Error(`${reviews[i].name}: HTTP ${levee.status} from levee, ${sidecar.status} from the sidecar, ${noop.status} from the no-op`);
    }
    deepStrictEqual(sidecar.body, levee.body, `${reviews[i].name}: the sidecar's answer differs from levee's`);
    const opa = await ask('opa', opaBodies[i]);
    deepStrictEqual(opa.body?.result?.violations, expectedViolations[i], `${reviews[i].name}: opa's violations differ from levee's bundle`);
    answers.push({ name: reviews[i].name, answer: levee.body });
  }
  return answers;
}

async function warm(load, counts) {
  const a = await load.saturate(counts.warmSaturated);
  const b = await load.serial(counts.warmSerial);
  if (a.errors + b.errors > 0) throw new Error(`errors while warming up: ${a.firstError ?? b.firstError}`);
}

/**
 * Each round measures every target once (saturation, then serial), starting with a different
 * target each round and pausing between targets, so drift on a shared machine and the
 * after-effects of one target's run (its collector catching up) fall on all of them alike.
 */
async function measureRounds(targets, loads, counts) {
  const runs = new Map(targets.map((t) => [t.key, { saturated: [], serial: [] }]));
  for (let round = 0; round < counts.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const load = loads.get(t.key);
      runs.get(t.key).saturated.push(await load.saturate(counts.saturated));
      runs.get(t.key).serial.push(await load.serial(counts.serial));
    }
  }
  return new Map([...runs].map(([key, r]) => [key, { saturated: summarize(r.saturated), serial: summarize(r.serial) }]));
}

/**
 * levee at several cache sizes, side by side: one levee per size, each checked to give the
 * `checked` review the answer the first levee gave, warmed, then measured in interleaved
 * rounds. Prints and returns the table, with each size's p99 against the smallest's and its
 * memory after a full collection.
 */
async function compareSizes({ what, sizes, label, heading, checked, startLevee, bodies, answers, ca, counts, track }) {
  say(`starting levee with ${sizes.map(label).join(', ')}...`);
  const targets = [];
  for (const size of sizes) {
    const server = track(await startLevee(size));
    targets.push({ name: label(size), key: label(size), port: server.port, server });
  }
  const loads = new Map(targets.map((t) => [t.key, createLoad({ port: t.port, path: '/validate', bodies, ca })]));
  const review = answers.findIndex((a) => a.name === checked);
  for (const t of targets) {
    const check = await postJson({ port: t.port, path: '/validate', ca }, bodies[review]);
    deepStrictEqual(check.body, answers[review].answer, `levee with ${t.name} answers the ${checked} review differently`);
    await warm(loads.get(t.key), counts);
  }
  say(`measuring ${targets.length} sizes (${what}) in ${counts.rounds} interleaved rounds...`);
  const results = await measureRounds(targets, loads, counts);
  for (const t of targets) {
    loads.get(t.key).close();
    t.memory = await t.server.memory();
    await t.server.stop();
  }
  const base = results.get(targets[0].key);
  const cached = (t) => Object.values(t.server.objects).reduce((a, b) => a + b, 0);
  const worst = (pick) => Math.max(...targets.map((t) => pick(results.get(t.key)) / pick(base)));
  const worstSaturated = worst((r) => r.saturated.p99);
  const worstSerial = worst((r) => r.serial.p99);
  const lines = [
    '',
    `${heading}; objects cached: ${targets.map((t) => `${t.name}: ${cached(t)}`).join(', ')}`,
    '',
    formatTable(
      ['caches', 'saturation req/s', 'p99 µs', 'vs smallest', 'serial p50 µs', 'serial p99 µs', 'vs smallest', 'RSS MiB', 'heap MiB'],
      targets.map((t) => {
        const r = results.get(t.key);
        return [t.name, r.saturated.rps.toFixed(0), r.saturated.p99.toFixed(0), ratio(r.saturated.p99, base.saturated.p99), r.serial.p50.toFixed(0), r.serial.p99.toFixed(0), ratio(r.serial.p99, base.serial.p99), t.memory.rssMiB.toFixed(0), t.memory.heapUsedMiB.toFixed(0)];
      }),
    ),
    '(RSS and heap in use after a full collection, at the end)',
    '',
    verdictLine(worstSaturated <= 1.2, `saturation p99, worst of the larger sizes (${what}): ${worstSaturated.toFixed(2)}x the smallest's (target <= 1.20x)`),
    verdictLine(worstSerial <= 1.2, `serial p99, worst of the larger sizes (${what}): ${worstSerial.toFixed(2)}x the smallest's (target <= 1.20x)`),
  ];
  printNow(lines);
  return lines;
}
