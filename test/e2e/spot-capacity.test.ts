import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { minimalCrd } from '../support/crds.js';
import { call } from '../support/https.js';
import { e2e, eventually, kubectl } from '../support/e2e.js';

/**
 * The cnblogs incident replayed on a real API server: 5 on-demand and 4 spot nodes. Taking
 * on-demand nodes away one by one stops at the configured minimum (2), however it is done:
 * cordon, delete or taint. A Karpenter NodePool set that could only launch spot is refused,
 * and so is a critical workload pinned to spot. The cluster's own failure handling passes.
 */

const namespace = `cnblogs-${Date.now().toString(36)}`;
const NODEPOOL_CRD = 'nodepools.karpenter.sh';
const MINIMUM = 2;

interface NodeItem {
  metadata: { name: string };
  spec?: { unschedulable?: boolean; taints?: Array<{ effect: string }> };
}

async function schedulableOnDemandNodes(): Promise<string[]> {
  const result = await kubectl(['get', 'nodes', '-l', 'karpenter.sh/capacity-type=on-demand', '-o', 'json']);
  assert.equal(result.code, 0, result.stderr);
  const nodes = (JSON.parse(result.stdout) as { items: NodeItem[] }).items;
  return nodes
    .filter((node) => !node.spec?.unschedulable && !(node.spec?.taints ?? []).some((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute'))
    .map((node) => node.metadata.name)
    .sort();
}

async function unschedulable(node: string): Promise<string> {
  const result = await kubectl(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

function nodePool(name: string, capacityTypes?: string[]): string {
  const requirements = [
    { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
    ...(capacityTypes ? [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: capacityTypes }] : []),
  ];
  return JSON.stringify({
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name },
    spec: { template: { spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' }, requirements } } },
  });
}

const nodePoolCrd = minimalCrd('karpenter.sh', 'NodePool', 'nodepools', { scope: 'Cluster', versions: ['v1'] });

function criticalDeployment(name: string, nodeSelector?: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { 'levee.dev/critical': 'true' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/blog:1.0' }], ...(nodeSelector ? { nodeSelector } : {}) },
      },
    },
  });
}

/**
 * Node-upgrade automation drains several nodes at once. Each cordon is judged on its own
 * request, and the watch shows an allowed cordon only a moment later: levee remembers what it
 * allowed until then, so cordons sent in parallel stop at the floor as cordons sent one by
 * one do.
 */
describe('e2e: spot-capacity, cordons sent in parallel', function () {
  this.timeout(240_000);
  let onDemand: string[] = [];

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    onDemand = await schedulableOnDemandNodes();
    assert.ok(onDemand.length > MINIMUM, `the local cluster has ${onDemand.length} schedulable on-demand nodes`);
  });

  afterEach(async () => {
    await Promise.all(onDemand.flatMap((node) => [kubectl(['uncordon', node]), kubectl(['taint', 'node', node, 'levee-e2e-'])]));
    await eventually('levee to see every on-demand node schedulable again', async () => {
      const probe = await kubectl(['cordon', onDemand[0]!, '--dry-run=server']);
      return !/denied/.test(probe.stderr) || probe.stderr;
    });
  });

  it('dry-run cordons of every on-demand node at once are each allowed, and leave nothing that counts', async () => {
    const dryRuns = await Promise.all(onDemand.map((node) => kubectl(['cordon', node, '--dry-run=server'])));
    for (const result of dryRuns) assert.doesNotMatch(result.stderr, /denied/, result.stderr);
    assert.deepEqual(await schedulableOnDemandNodes(), onDemand);
    const real = await kubectl(['cordon', onDemand[0]!]);
    assert.doesNotMatch(real.stderr, /denied/, real.stderr);
    assert.equal(await unschedulable(onDemand[0]!), 'true');
  });

  it(`cordons of every on-demand node sent at once: all but ${MINIMUM} go through, the rest are refused`, async () => {
    const results = await Promise.all(onDemand.map((node) => kubectl(['cordon', node])));
    const refused = results.filter((result) => /denied the request/.test(result.stderr));
    assert.equal(refused.length, MINIMUM, results.map((result) => result.stdout + result.stderr).join('\n'));
    for (const result of refused) {
      assert.match(result.stderr, new RegExp(`would leave ${MINIMUM - 1} schedulable on-demand node\\(s\\), below the minimum of ${MINIMUM}.*\\(rule on-demand-floor\\)`));
    }
    // What the API server stored, not what kubectl printed, is what counts.
    assert.equal((await schedulableOnDemandNodes()).length, MINIMUM);
  });

  it('taints and cordons sent at once count each other too', async () => {
    const [tainted, ...rest] = onDemand;
    const results = await Promise.all([kubectl(['taint', 'node', tainted!, 'levee-e2e=drain:NoSchedule']), ...rest.map((node) => kubectl(['cordon', node]))]);
    const refused = results.filter((result) => /denied the request/.test(result.stderr));
    assert.equal(refused.length, MINIMUM, results.map((result) => result.stdout + result.stderr).join('\n'));
    assert.equal((await schedulableOnDemandNodes()).length, MINIMUM);
  });
});

describe('e2e: spot-capacity (the cnblogs replay)', function () {
  this.timeout(240_000);
  const cordoned: string[] = [];
  let onDemand: string[] = [];
  let last = '';

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    onDemand = await schedulableOnDemandNodes();
    assert.ok(onDemand.length > MINIMUM, `the local cluster has ${onDemand.length} schedulable on-demand nodes`);
    last = onDemand[onDemand.length - MINIMUM]!;
  });

  after(async () => {
    for (const node of [...cordoned, last]) await kubectl(['uncordon', node]);
    await kubectl(['taint', 'node', last, 'levee-e2e-']);
    await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'crd', NODEPOOL_CRD, '--ignore-not-found', '--wait=false']);
  });

  it(`cordons on-demand nodes one by one down to ${MINIMUM}, then refuses the next`, async () => {
    for (const node of onDemand.slice(0, onDemand.length - MINIMUM)) {
      const result = await kubectl(['cordon', node]);
      assert.equal(result.code, 0, result.stderr);
      cordoned.push(node);
    }
    // kubectl cordon prints a failed patch but may still exit 0: what it prints and what the
    // API server stored are what the user sees.
    await eventually('levee to count the cordoned nodes', async () => {
      const probe = await kubectl(['cordon', last, '--dry-run=server']);
      return /denied the request/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
    const result = await kubectl(['cordon', last]);
    assert.match(result.stderr, /unable to cordon node .*admission webhook "validate-nodes\.levee\.dev" denied the request/);
    assert.match(
      result.stderr,
      new RegExp(`\\[spot-capacity\\] cordoning on-demand node ${last} would leave ${MINIMUM - 1} schedulable on-demand node\\(s\\), below the minimum of ${MINIMUM}, with \\d+ schedulable spot node\\(s\\) \\(rule on-demand-floor\\)`),
    );
    assert.equal(await unschedulable(last), '');
  });

  it('refuses deleting that node, and tainting it NoSchedule, also on dry-run', async () => {
    for (const args of [
      ['delete', 'node', last],
      ['delete', 'node', last, '--dry-run=server'],
      ['taint', 'node', last, 'levee-e2e=maintenance:NoSchedule'],
      ['taint', 'node', last, 'levee-e2e=maintenance:NoExecute', '--dry-run=server'],
    ]) {
      const result = await kubectl(args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, /\[spot-capacity\] (deleting|tainting) on-demand node .* \(rule on-demand-floor\)/, args.join(' '));
    }
    const node = await kubectl(['get', 'node', last, '-o', 'jsonpath={.spec.taints}']);
    assert.equal(node.code, 0, node.stderr);
    assert.doesNotMatch(node.stdout, /levee-e2e/);
  });

  it('refuses relabelling that node as spot: levee knows capacity by its labels, so that takes it out of the count', async () => {
    for (const args of [
      ['label', 'node', last, 'karpenter.sh/capacity-type=spot', '--overwrite'],
      ['label', 'node', last, 'karpenter.sh/capacity-type=spot', 'eks.amazonaws.com/capacityType=SPOT', '--overwrite', '--dry-run=server'],
    ]) {
      const result = await kubectl(args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, new RegExp(`\\[spot-capacity\\] relabelling on-demand node ${last} as spot would leave ${MINIMUM - 1} schedulable on-demand node\\(s\\).*\\(rule on-demand-floor\\)`), args.join(' '));
    }
    const label = await kubectl(['get', 'node', last, '-o', 'jsonpath={.metadata.labels.karpenter\\.sh/capacity-type}']);
    assert.equal(label.stdout, 'on-demand', label.stderr);
  });

  it('lets the node lifecycle controller through, with an audit finding instead of a denial', async () => {
    const env = await e2e();
    const findings = async (): Promise<number> => {
      const metrics = await call(env.port, env.ca, { method: 'GET', path: '/metrics' });
      const line = metrics.text.split('\n').find((text) => text.startsWith('levee_policy_findings_total') && text.includes('rule="on-demand-floor-by-failure-handler"') && text.includes('action="audit"'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = await findings();
    const result = await kubectl(['cordon', last, '--dry-run=server', '--as=system:serviceaccount:kube-system:node-controller']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /denied/);
    assert.equal(await findings(), before + 1);
    assert.equal(await unschedulable(last), '');
  });

  it('still lets spot nodes be cordoned', async () => {
    const result = await kubectl(['cordon', 'spot-1', '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /node\/spot-1 cordoned \(server dry run\)/);
  });

  it('refuses an all-spot NodePool as the only pool, then allows it next to an on-demand one', async () => {
    assert.equal((await kubectl(['apply', '-f', '-'], { input: nodePoolCrd })).code, 0);
    assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${NODEPOOL_CRD}`])).code, 0);
    for (const args of [['apply', '-f', '-'], ['apply', '--dry-run=server', '-f', '-']]) {
      const refused = await kubectl(args, { input: nodePool('spot-only', ['spot']) });
      assert.notEqual(refused.code, 0, args.join(' '));
      assert.match(refused.stderr, /\[spot-capacity\] NodePool spot-only allows only spot capacity and no other NodePool can launch on-demand nodes \(rule all-pools-spot\)/);
    }
    assert.notEqual((await kubectl(['get', 'nodepool', 'spot-only'])).code, 0);

    const general = await kubectl(['apply', '-f', '-'], { input: nodePool('general') });
    assert.equal(general.code, 0, general.stderr);
    await eventually('levee to see the on-demand NodePool', async () => {
      const probe = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: nodePool('spot-only', ['spot']) });
      return probe.code === 0 || probe.stderr;
    });
    const spot = await kubectl(['apply', '-f', '-'], { input: nodePool('spot-only', ['spot']) });
    assert.equal(spot.code, 0, spot.stderr);

    const turnedSpot = await kubectl(['patch', 'nodepool', 'general', '--type=merge', '-p', JSON.stringify(JSON.parse(nodePool('general', ['spot'])))]);
    assert.notEqual(turnedSpot.code, 0);
    assert.match(turnedSpot.stderr, /NodePool general allows only spot capacity and no other NodePool can launch on-demand nodes/);
  });

  it('refuses a critical workload pinned to spot, and spreads one that says nothing about capacity', async () => {
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    const pinned = await kubectl(['apply', '-f', '-'], { input: criticalDeployment('blog', { 'karpenter.sh/capacity-type': 'spot' }) });
    assert.notEqual(pinned.code, 0);
    assert.match(pinned.stderr, new RegExp(`Deployment ${namespace}/blog is critical \\(label levee\\.dev/critical=true\\) but nodeSelector karpenter\\.sh/capacity-type=spot pins it to spot capacity only`));

    const spread = await kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], { input: criticalDeployment('blog') });
    assert.equal(spread.code, 0, spread.stderr);
    const stored = JSON.parse(spread.stdout) as { spec: { template: { spec: { topologySpreadConstraints?: Array<Record<string, unknown>> } } } };
    const constraints = stored.spec.template.spec.topologySpreadConstraints ?? [];
    assert.equal(constraints.length, 1, JSON.stringify(constraints));
    assert.deepEqual(
      [constraints[0]!.topologyKey, constraints[0]!.whenUnsatisfiable, constraints[0]!.maxSkew, constraints[0]!.labelSelector],
      ['karpenter.sh/capacity-type', 'ScheduleAnyway', 1, { matchLabels: { app: 'blog' } }],
    );
  });
});

/**
 * The same incident through Cluster API: workload cluster `prod` gets its workers from
 * MachineDeployments and MachinePools, each made from a provider object. Capacity is replicas
 * times capacity type, however it is changed: apply, patch, kubectl scale (the scale
 * subresource), delete, a template that arrives after its pool, a MachinePool's
 * infrastructure, a ClusterClass topology, and several changes sent at once.
 */
describe('e2e: spot-capacity for Cluster API workload clusters', function () {
  this.timeout(240_000);
  const capi = `capi-${Date.now().toString(36)}`;
  const crd = (kind: string, plural: string, group = 'cluster.x-k8s.io', scale = false) => ({
    name: `${plural}.${group}`,
    manifest: minimalCrd(group, kind, plural, { scale }),
  });
  const INFRA = 'infrastructure.cluster.x-k8s.io';
  const CAPI_CRDS = [
    crd('MachineDeployment', 'machinedeployments', 'cluster.x-k8s.io', true),
    crd('MachinePool', 'machinepools', 'cluster.x-k8s.io', true),
    crd('Cluster', 'clusters'),
    crd('ClusterClass', 'clusterclasses'),
    crd('AWSMachineTemplate', 'awsmachinetemplates', INFRA),
    crd('AWSManagedMachinePool', 'awsmanagedmachinepools', INFRA),
  ];
  const template = (name: string, spot: boolean) =>
    JSON.stringify({
      apiVersion: `${INFRA}/v1beta2`,
      kind: 'AWSMachineTemplate',
      metadata: { name, namespace: capi },
      spec: { template: { spec: { instanceType: 'm5.large', ...(spot ? { spotMarketOptions: { maxPrice: '0.05' } } : {}) } } },
    });
  const pool = (name: string, templateName: string, options: { replicas?: number; cluster?: string } = {}) =>
    JSON.stringify({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDeployment',
      metadata: { name, namespace: capi },
      spec: {
        clusterName: options.cluster ?? 'prod',
        replicas: options.replicas ?? 3,
        template: { spec: { clusterName: options.cluster ?? 'prod', version: 'v1.34.4', infrastructureRef: { apiGroup: INFRA, kind: 'AWSMachineTemplate', name: templateName } } },
      },
    });
  const apply = (input: string, ...extra: string[]) => kubectl(['apply', ...extra, '-f', '-'], { input });
  const stored = async (resource: string, name: string, path: string) => (await kubectl(['get', resource, name, '-n', capi, '-o', `jsonpath={${path}}`])).stdout;
  const refusedAllSpot = (stderr: string) => /\(rule all-pools-spot\)/.test(stderr);
  /** Dry-run probes until levee's caches show what was just written, so each test starts from what is stored. */
  const until = (what: string, probe: () => Promise<{ code: number; stderr: string; stdout: string }>, refused: boolean) =>
    eventually(what, async () => {
      const result = await probe();
      return refusedAllSpot(result.stderr) === refused || result.stdout + result.stderr;
    });

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    for (const { manifest } of CAPI_CRDS) assert.equal((await apply(manifest)).code, 0);
    const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CAPI_CRDS.map(({ name }) => `crd/${name}`)]);
    assert.equal(established.code, 0, established.stderr);
    assert.equal((await kubectl(['create', 'namespace', capi])).code, 0);
    const templates = await apply(`${template('workers', false)}\n${template('workers-spot', true)}`);
    assert.equal(templates.code, 0, templates.stderr);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', capi, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    await kubectl(['delete', 'crd', ...CAPI_CRDS.map(({ name }) => name), '--ignore-not-found', '--wait=true', '--timeout=60s']);
  });

  it('refuses a spot MachineDeployment as the only worker pool of prod, also on dry-run, and stores nothing', async () => {
    // levee starts watching the kinds once their CRDs are established and it has seen the spot template.
    await until('levee to watch the templates and refuse the spot-only pool', () => apply(pool('prod-md-spot', 'workers-spot'), '--dry-run=server'), true);
    for (const extra of [[], ['--dry-run=server']]) {
      const refused = await apply(pool('prod-md-spot', 'workers-spot'), ...extra);
      assert.notEqual(refused.code, 0, extra.join(' '));
      assert.match(refused.stderr, /admission webhook "validate\.levee\.dev" denied the request/);
      assert.match(
        refused.stderr,
        new RegExp(`\\[spot-capacity\\] creating MachineDeployment ${capi}/prod-md-spot would leave workload cluster ${capi}/prod with spot machines only: 3 spot replica\\(s\\) \\(MachineDeployment prod-md-spot \\(AWSMachineTemplate/workers-spot sets spotMarketOptions\\): 3 replica\\(s\\)\\) and no on-demand replica \\(rule all-pools-spot\\)`),
      );
    }
    assert.notEqual((await kubectl(['get', 'machinedeployment', 'prod-md-spot', '-n', capi])).code, 0);
  });

  it('allows it next to an on-demand MachineDeployment, then refuses switching that one to spot', async () => {
    const onDemand = await apply(pool('prod-md-0', 'workers'));
    assert.equal(onDemand.code, 0, onDemand.stderr);
    await until('levee to see the on-demand MachineDeployment', () => apply(pool('prod-md-spot', 'workers-spot'), '--dry-run=server'), false);
    const spot = await apply(pool('prod-md-spot', 'workers-spot'));
    assert.equal(spot.code, 0, spot.stderr);

    await until('levee to see the spot MachineDeployment', () => apply(pool('prod-md-0', 'workers-spot'), '--dry-run=server'), true);
    const patch = { spec: { template: { spec: { infrastructureRef: { name: 'workers-spot' } } } } };
    const switched = await kubectl(['patch', 'machinedeployment', 'prod-md-0', '-n', capi, '--type=merge', '-p', JSON.stringify(patch)]);
    assert.notEqual(switched.code, 0);
    assert.match(switched.stderr, new RegExp(`pointing MachineDeployment ${capi}/prod-md-0 at AWSMachineTemplate/workers-spot would leave workload cluster ${capi}/prod with spot machines only`));
    assert.equal(await stored('machinedeployment', 'prod-md-0', '.spec.template.spec.infrastructureRef.name'), 'workers');
  });

  it('refuses kubectl scale of the on-demand MachineDeployment to 0 beside the spot one (the scale subresource), and patches to 0; allows scaling it to 1', async () => {
    for (const args of [
      ['scale', 'machinedeployment', 'prod-md-0', '-n', capi, '--replicas=0'],
      ['scale', 'machinedeployment', 'prod-md-0', '-n', capi, '--replicas=0', '--dry-run=server'],
      ['patch', 'machinedeployment', 'prod-md-0', '-n', capi, '--type=merge', '-p', '{"spec":{"replicas":0}}'],
      ['patch', 'machinedeployment', 'prod-md-0', '-n', capi, '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":0}]'],
    ]) {
      const refused = await kubectl(args);
      assert.notEqual(refused.code, 0, args.join(' '));
      assert.match(refused.stderr, new RegExp(`scaling MachineDeployment ${capi}/prod-md-0 from 3 to 0 replica\\(s\\) would leave workload cluster ${capi}/prod with spot machines only.*\\(rule all-pools-spot\\)`), args.join(' '));
    }
    assert.equal(await stored('machinedeployment', 'prod-md-0', '.spec.replicas'), '3');
    const one = await kubectl(['scale', 'machinedeployment', 'prod-md-0', '-n', capi, '--replicas=1']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(await stored('machinedeployment', 'prod-md-0', '.spec.replicas'), '1');
  });

  it('two on-demand MachineDeployments scaled to 0 at once beside a spot one: exactly one goes through', async () => {
    assert.equal((await apply(pool('prod-md-1', 'workers', { replicas: 2 }))).code, 0);
    await until('levee to see prod-md-1', () => kubectl(['scale', 'machinedeployment', 'prod-md-0', '-n', capi, '--replicas=0', '--dry-run=server']), false);
    const results = await Promise.all(['prod-md-0', 'prod-md-1'].map((name) => kubectl(['scale', 'machinedeployment', name, '-n', capi, '--replicas=0'])));
    assert.deepEqual(results.map((result) => result.code === 0).sort(), [false, true], results.map((result) => result.stderr).join('\n'));
    const replicas = [await stored('machinedeployment', 'prod-md-0', '.spec.replicas'), await stored('machinedeployment', 'prod-md-1', '.spec.replicas')];
    assert.deepEqual(replicas.filter((count) => count === '0').length, 1, replicas.join(','));
    // Put both back, for the tests after.
    for (const [name, count] of [['prod-md-0', '3'], ['prod-md-1', '2']]) assert.equal((await kubectl(['scale', 'machinedeployment', name!, '-n', capi, `--replicas=${count}`])).code, 0);
  });

  it('a MachineDeployment applied before its template is allowed with a warning, and the spot template is refused when it comes', async () => {
    // prod-md-1 and prod-md-0 are deleted first, so that only the pool with the missing template keeps prod on-demand.
    const later = await apply(pool('prod-md-later', 'later'));
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stderr, /Warning: levee \[spot-capacity\] levee cannot tell whether these make spot machines, and counts them as on-demand: MachineDeployment prod-md-later \(AWSMachineTemplate\/later is not known to levee \(yet\)\)/);
    for (const name of ['prod-md-1', 'prod-md-0']) {
      await until(`levee to see ${name} removable`, () => kubectl(['delete', 'machinedeployment', name, '-n', capi, '--dry-run=server']), false);
      assert.equal((await kubectl(['delete', 'machinedeployment', name, '-n', capi])).code, 0);
    }
    await until('levee to see only the pool with the missing template on-demand', () => apply(template('later', true), '--dry-run=server'), true);
    const refused = await apply(template('later', true));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`creating AWSMachineTemplate ${capi}/later, which sets spotMarketOptions, would leave workload cluster ${capi}/prod with spot machines only`));
    assert.notEqual((await kubectl(['get', 'awsmachinetemplate', 'later', '-n', capi])).code, 0);
    const onDemandTemplate = await apply(template('later', false));
    assert.equal(onDemandTemplate.code, 0, onDemandTemplate.stderr);
  });

  it('levee audit --cluster reports a live pool whose template levee cannot read', async () => {
    assert.equal((await apply(pool('staging-md-0', 'missing', { cluster: 'staging' }))).code, 0);
    const env = await e2e();
    const audit = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['bin/levee.js', 'audit', '--cluster', '-o', 'json', '--kubeconfig', env.cluster.kubeconfig], { cwd: process.cwd() }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    assert.ok(audit.code === 0 || audit.code === 1, `levee audit --cluster failed (${audit.code}): ${audit.stderr}`);
    const report = JSON.parse(audit.stdout) as { findings: Array<{ rule: string; action: string; object: { kind: string; name: string; namespace?: string } }> };
    const unknown = report.findings.filter((finding) => finding.rule === 'unknown-capacity' && finding.object.namespace === capi);
    assert.deepEqual(unknown.map((finding) => `${finding.object.kind}/${finding.object.name}:${finding.action}`), ['MachineDeployment/staging-md-0:warn'], audit.stdout);
    assert.equal((await kubectl(['delete', 'machinedeployment', 'staging-md-0', '-n', capi])).code, 0);
  });

  it('a MachinePool counts: a spot MachineDeployment is fine beside an on-demand EKS node group, which may then not turn spot', async () => {
    const managed = (capacityType: string) =>
      JSON.stringify({ apiVersion: `${INFRA}/v1beta2`, kind: 'AWSManagedMachinePool', metadata: { name: 'ng-0', namespace: capi }, spec: { capacityType } });
    const machinePool = JSON.stringify({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachinePool',
      metadata: { name: 'mp-0', namespace: capi },
      spec: { clusterName: 'eks', replicas: 2, template: { spec: { clusterName: 'eks', version: 'v1.34.4', infrastructureRef: { apiGroup: INFRA, kind: 'AWSManagedMachinePool', name: 'ng-0' } } } },
    });
    assert.equal((await apply(`${managed('onDemand')}\n${machinePool}`)).code, 0);
    await until('levee to see the on-demand node group', () => apply(pool('eks-md-spot', 'workers-spot', { cluster: 'eks' }), '--dry-run=server'), false);
    assert.equal((await apply(pool('eks-md-spot', 'workers-spot', { cluster: 'eks' }))).code, 0);
    await until('levee to see the spot MachineDeployment of eks', () => apply(managed('spot'), '--dry-run=server'), true);
    const refused = await kubectl(['patch', 'awsmanagedmachinepool', 'ng-0', '-n', capi, '--type=merge', '-p', '{"spec":{"capacityType":"spot"}}']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`changing AWSManagedMachinePool ${capi}/ng-0, which sets capacityType: spot, would leave workload cluster ${capi}/eks with spot machines only`));
    const scaled = await kubectl(['scale', 'machinepool', 'mp-0', '-n', capi, '--replicas=0']);
    assert.notEqual(scaled.code, 0);
    assert.match(scaled.stderr, /scaling MachinePool .*\/mp-0 from 2 to 0 replica\(s\)/);
  });

  it('a ClusterClass topology asking for spot workers only is refused; with an on-demand pool it is allowed', async () => {
    const clusterClass = JSON.stringify({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'ClusterClass',
      metadata: { name: 'aws', namespace: capi },
      spec: {
        workers: {
          machineDeployments: [
            { class: 'spot', infrastructure: { templateRef: { apiVersion: `${INFRA}/v1beta2`, kind: 'AWSMachineTemplate', name: 'workers-spot' } } },
            { class: 'on-demand', infrastructure: { templateRef: { apiVersion: `${INFRA}/v1beta2`, kind: 'AWSMachineTemplate', name: 'workers' } } },
          ],
        },
      },
    });
    const topology = (pools: Array<{ name: string; class: string; replicas: number }>) =>
      JSON.stringify({
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'topo', namespace: capi },
        spec: { topology: { classRef: { name: 'aws' }, version: 'v1.34.4', workers: { machineDeployments: pools } } },
      });
    assert.equal((await apply(clusterClass)).code, 0);
    const spotOnly = topology([{ name: 'md-0', class: 'spot', replicas: 3 }]);
    await until('levee to see the ClusterClass', () => apply(spotOnly, '--dry-run=server'), true);
    const refused = await apply(spotOnly);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`creating the topology of Cluster ${capi}/topo would leave workload cluster ${capi}/topo with spot machines only: 3 spot replica\\(s\\) \\(topology MachineDeployment md-0`));
    const mixed = await apply(topology([{ name: 'md-0', class: 'spot', replicas: 3 }, { name: 'md-1', class: 'on-demand', replicas: 1 }]));
    assert.equal(mixed.code, 0, mixed.stderr);
    await until('levee to see the Cluster', () => apply(topology([{ name: 'md-0', class: 'spot', replicas: 3 }, { name: 'md-1', class: 'on-demand', replicas: 0 }]), '--dry-run=server'), true);
  });

  it("deleting the last on-demand pool is refused for a person; Cluster API's manager deleting it is recorded, not refused", async () => {
    const refused = await kubectl(['delete', 'machinedeployment', 'prod-md-later', '-n', capi, '--dry-run=server']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`deleting MachineDeployment ${capi}/prod-md-later would leave workload cluster ${capi}/prod with spot machines only`));
    // RBAC first lets Cluster API's manager delete it at all, as its real ClusterRole does.
    const grant = JSON.stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'capi-manager', namespace: capi },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'capi-manager', namespace: 'capi-system' }],
    });
    assert.equal((await apply(grant)).code, 0);
    const manager = await kubectl(['delete', 'machinedeployment', 'prod-md-later', '-n', capi, '--dry-run=server', '--as=system:serviceaccount:capi-system:capi-manager']);
    assert.equal(manager.code, 0, manager.stderr);
  });
});

/**
 * The floor is there because spot capacity can vanish. With the spot nodes relabelled
 * on-demand and no NodePool left, the cluster has none: every node may be cordoned, the last
 * one too (a small cluster being drained for an upgrade), also sent at once.
 */
describe('e2e: spot-capacity in a cluster with no spot capacity', function () {
  this.timeout(240_000);
  const SPOT_LABELS = ['karpenter.sh/capacity-type=spot', 'eks.amazonaws.com/capacityType=SPOT', 'cloud.google.com/gke-spot=true'];
  const ON_DEMAND_LABELS = ['karpenter.sh/capacity-type=on-demand', 'eks.amazonaws.com/capacityType=ON_DEMAND', 'cloud.google.com/gke-spot-'];
  let spot: string[] = [];
  let all: string[] = [];

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    const listed = await kubectl(['get', 'nodes', '-l', 'karpenter.sh/capacity-type=spot', '-o', 'jsonpath={.items[*].metadata.name}']);
    spot = listed.stdout.split(/\s+/).filter(Boolean);
    assert.ok(spot.length > 0, 'the local cluster has spot nodes to relabel');
    for (const node of spot) assert.equal((await kubectl(['label', 'node', node, ...ON_DEMAND_LABELS, '--overwrite'])).code, 0);
    all = await schedulableOnDemandNodes();
    await kubectl(['delete', 'crd', NODEPOOL_CRD, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    await eventually('levee to see no spot capacity left', async () => {
      const probes = await Promise.all(all.map((node) => kubectl(['cordon', node, '--dry-run=server'])));
      const refused = probes.find((probe) => /denied/.test(probe.stderr));
      return !refused || refused.stderr;
    });
  });

  after(async () => {
    await Promise.all(all.map((node) => kubectl(['uncordon', node])));
    await eventually('levee to see every node schedulable again', async () => {
      const probe = await kubectl(['label', 'node', spot[0]!, ...SPOT_LABELS, '--overwrite', '--dry-run=server']);
      return probe.code === 0 || probe.stderr;
    });
    for (const node of spot) await kubectl(['label', 'node', node, ...SPOT_LABELS, '--overwrite']);
  });

  it('cordons of every node sent at once all go through, and the API server stores them', async () => {
    const results = await Promise.all(all.map((node) => kubectl(['cordon', node])));
    for (const result of results) assert.doesNotMatch(result.stderr, /denied/, result.stderr);
    assert.deepEqual(await schedulableOnDemandNodes(), []);
  });
});
