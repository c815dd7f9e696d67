import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Sums = Record<string, number>;
interface BenchKube {
  sumMetric(text: string, prefix: string): number;
  sumByWebhook(text: string, metric: string): Sums;
  entriesSince(before: Record<string, Sums>, after: Record<string, Sums>): Record<string, Sums>;
}

const load = async (): Promise<BenchKube> => (await import(pathToFileURL(join(process.cwd(), 'bench', 'e2e', 'kube.mjs')).href)) as BenchKube;

// As kube-apiserver exposes them: one sample per label set, the name label not always first.
const METRICS = [
  '# HELP apiserver_admission_match_condition_evaluation_seconds [ALPHA] Admission match condition evaluation time in seconds, identified by name and broken out for each kind containing matchConditions (webhook or policy), operation and admission type (validate or admit).',
  'apiserver_admission_match_condition_evaluation_seconds_sum{name="validate.levee.dev",type="validating"} 0.25',
  'apiserver_admission_match_condition_evaluation_seconds_sum{name="mutate.levee.dev",type="admit"} 0.5',
  'apiserver_admission_match_condition_evaluation_seconds_count{name="validate.levee.dev",type="validating"} 10',
  'apiserver_admission_match_condition_evaluation_seconds_count{name="mutate.levee.dev",type="admit"} 4',
  'apiserver_admission_match_condition_exclusions_total{kind="webhook",name="mutate.levee.dev",operation="UPDATE",type="admit"} 3',
  'apiserver_admission_match_condition_exclusions_total{kind="webhook",name="mutate.levee.dev",operation="CREATE",type="admit"} 1',
  'apiserver_admission_webhook_admission_duration_seconds_sum{name="validate.levee.dev",operation="UPDATE",rejected="false",type="validating"} 1.5',
  'apiserver_admission_webhook_admission_duration_seconds_sum{name="validate.levee.dev",operation="UPDATE",rejected="true",type="validating"} 0.5',
  'apiserver_admission_webhook_admission_duration_seconds_sum_extra{name="validate.levee.dev"} 99',
].join('\n');

describe('bench/e2e/kube: the API server\'s webhook metrics', () => {
  it('sums every sample of a metric over its label sets', async () => {
    const { sumMetric } = await load();
    assert.equal(sumMetric(METRICS, 'apiserver_admission_match_condition_evaluation_seconds_sum{'), 0.75);
  });

  it('sums per webhook entry by its name label, wherever the label stands, and only for that metric', async () => {
    const { sumByWebhook } = await load();
    assert.deepEqual(sumByWebhook(METRICS, 'apiserver_admission_match_condition_exclusions_total'), { 'mutate.levee.dev': 4 });
    assert.deepEqual(sumByWebhook(METRICS, 'apiserver_admission_webhook_admission_duration_seconds_sum'), { 'validate.levee.dev': 2 });
    assert.deepEqual(sumByWebhook(METRICS, 'apiserver_admission_match_condition_evaluation_seconds_count'), { 'validate.levee.dev': 10, 'mutate.levee.dev': 4 });
  });

  it('takes each entry\'s growth between two readings, counting an entry first seen in the second in full and leaving out those that did not move', async () => {
    const { entriesSince } = await load();
    const before = { exclusions: { 'validate.levee.dev': 10, 'mutate.levee.dev': 4 } };
    const after = { exclusions: { 'validate.levee.dev': 15, 'mutate.levee.dev': 4, 'validate-nodes.levee.dev': 2 } };
    assert.deepEqual(entriesSince(before, after), { exclusions: { 'validate.levee.dev': 5, 'validate-nodes.levee.dev': 2 } });
  });
});
