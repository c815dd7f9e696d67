// Tables, ratios and the in-server latency histogram for the bench's output.

export function formatTable(header, rows) {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function ratio(a, b) {
  return `${(a / b).toFixed(2)}x`;
}

export function verdictLine(pass, text) {
  return `  ${pass ? 'PASS' : 'FAIL'}  ${text}`;
}

/** Cumulative bucket counts of levee_admission_duration_seconds{route="validate"}: Map(le -> count). */
export function parseHistogram(metricsText) {
  const buckets = new Map();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('levee_admission_duration_seconds_bucket{') || !line.includes('route="validate"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le !== undefined) buckets.set(le === '+Inf' ? Infinity : Number(le), count);
  }
  return buckets;
}

/**
 * The q-quantile of the decisions observed between two scrapes, as Prometheus'
 * histogram_quantile estimates it (linear within the bucket), with the bucket's upper bound
 * and the share of decisions at or under 1 ms.
 */
export function histogramQuantile(before, after, q) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  const rank = q * total;
  let estimate = Number.NaN;
  let bucket = Number.NaN;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] < rank) continue;
    const lower = i === 0 ? 0 : bounds[i - 1];
    const below = i === 0 ? 0 : counts[i - 1];
    const upper = Number.isFinite(bounds[i]) ? bounds[i] : lower;
    estimate = lower + (upper - lower) * ((rank - below) / Math.max(1, counts[i] - below));
    bucket = bounds[i];
    break;
  }
  const underOneMs = counts[bounds.indexOf(0.001)] ?? 0;
  return { count: total, estimateMs: estimate * 1000, bucketMs: bucket * 1000, fractionUnder1ms: total > 0 ? underOneMs / total : 0 };
}
