// Merges the measured chunks per target and writer count: latency quantiles over every write,
// throughput over the time spent, CPU and webhook calls per thousand writes, and the added p99
// against no webhook at the same writer count. Also reads each round on its own: a target's
// added p99 against the floor measured minutes apart in the same round, so a slow spell of the
// shared machine moves both sides of the difference (pairedRounds), and the median of those.
import { quantile } from '../load.mjs';

export function summarizeChunks({ targets, writers, chunks }) {
  const rows = [];
  for (const n of writers) {
    for (const target of targets) {
      const measured = chunks.get(`${target.key}/${n}`) ?? [];
      const latencies = sortedLatencies(measured);
      const requests = latencies.length;
      const seconds = measured.reduce((sum, chunk) => sum + chunk.seconds, 0);
      const per1k = (pick) => (measured.reduce((sum, chunk) => sum + pick(chunk), 0) / requests) * 1000;
      const errors = measured.reduce((sum, chunk) => sum + Object.entries(chunk.statuses).filter(([status]) => status !== '200' && status !== '201').reduce((a, [, count]) => a + count, 0), 0);
      rows.push({
        key: target.key,
        name: target.name,
        writers: n,
        requests,
        rps: requests / seconds,
        p50: quantile(latencies, 0.5) / 1000,
        p99: quantile(latencies, 0.99) / 1000,
        apiserverCpu: per1k((chunk) => chunk.cpu.apiserver),
        webhookCpu: per1k((chunk) => chunk.cpu.webhook),
        calls: per1k((chunk) => chunk.calls),
        // Milliseconds per write: seconds per thousand writes.
        apiserverWaitMs: per1k((chunk) => chunk.waited.webhooks),
        conditionsMs: per1k((chunk) => chunk.waited.conditions),
        entries: entriesPer1k(measured, requests),
        ...(measured.some((chunk) => chunk.answering !== undefined) ? { answeringMs: per1k((chunk) => chunk.answering ?? 0) } : {}),
        ...(measured.some((chunk) => chunk.connections !== undefined) ? { connections: per1k((chunk) => chunk.connections ?? 0) } : {}),
        ...(measured.some((chunk) => chunk.logged) ? { logged: loggedPer1k(measured, requests), sent: sentPer1k(measured, requests) } : {}),
        errors,
      });
    }
  }
  for (const row of rows) {
    const floor = rows.find((other) => other.key === 'none' && other.writers === row.writers);
    row.addedP99 = row.p99 - floor.p99;
    row.addedP99Share = row.addedP99 / floor.p99;
  }
  return { rows, rounds: pairedRounds({ targets, writers, chunks }) };
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Round by round, at each writer count: every target's p99 in that round and what it added to the
 * floor's p99 of the same round, in ms and as a share of that floor. A round missing a target's
 * chunk or the floor's is left out.
 */
export function pairedRounds({ targets, writers, chunks }) {
  const rounds = [];
  for (const n of writers) {
    const floors = chunks.get(`none/${n}`) ?? [];
    floors.forEach((floorChunk, index) => {
      const floor = p99Ms([floorChunk]);
      const p99 = {};
      const added = {};
      const share = {};
      for (const target of targets) {
        const measured = chunks.get(`${target.key}/${n}`)?.[index];
        if (!measured) continue;
        p99[target.key] = p99Ms([measured]);
        added[target.key] = p99[target.key] - floor;
        share[target.key] = added[target.key] / floor;
      }
      rounds.push({ writers: n, round: index + 1, p99, added, share });
    });
  }
  return rounds;
}

/**
 * The paired reading of `key` at `writers`: the median over rounds of its added p99's share of the
 * floor, and of its added p99 over `reference`'s in the same round. A round where the reference
 * added nothing (or took time off the floor) gives no ratio, and is counted in `unusable`.
 */
export function pairedRatio(rounds, { writers, key, reference }) {
  const at = rounds.filter((round) => round.writers === writers && key in round.added);
  const usable = at.filter((round) => round.added[reference] > 0);
  return {
    rounds: at.length,
    share: median(at.map((round) => round.share[key])),
    ratio: median(usable.map((round) => round.added[key] / round.added[reference])),
    unusable: at.length - usable.length,
  };
}

/** Every write's latency of these chunks, in microseconds, sorted for quantile(). */
function sortedLatencies(chunks) {
  return Float64Array.from(chunks.flatMap((chunk) => chunk.latencies)).sort();
}

function p99Ms(chunks) {
  return quantile(sortedLatencies(chunks), 0.99) / 1000;
}

/**
 * Per webhook entry, per thousand writes: calls and writes its conditions left out (counts), and the
 * seconds the API server spent in conditions that left a write out and waited on calls (so ms per write).
 */
function entriesPer1k(measured, requests) {
  const totals = {};
  for (const chunk of measured) {
    for (const [measure, sums] of Object.entries(chunk.entries ?? {})) {
      for (const [name, value] of Object.entries(sums)) {
        totals[name] ??= { waited: 0, calls: 0, conditions: 0, exclusions: 0 };
        totals[name][measure] += value;
      }
    }
  }
  return Object.fromEntries(Object.entries(totals).map(([name, sums]) => [name, Object.fromEntries(Object.entries(sums).map(([measure, value]) => [measure, (value / requests) * 1000]))]));
}

/** The reviews levee logged during these chunks, by route, requester, resource and operation, per thousand writes. */
function loggedPer1k(measured, requests) {
  const totals = {};
  for (const chunk of measured) for (const [key, count] of Object.entries(chunk.logged ?? {})) totals[key] = (totals[key] ?? 0) + count;
  return Object.fromEntries(Object.entries(totals).map(([key, count]) => [key, (count / requests) * 1000]));
}

/** The writes of each kind of the mix the writers sent during these chunks, per thousand writes. */
function sentPer1k(measured, requests) {
  const totals = {};
  for (const chunk of measured) for (const kind of chunk.kinds ?? []) totals[kind] = (totals[kind] ?? 0) + 1;
  return Object.fromEntries(Object.entries(totals).map(([kind, count]) => [kind, (count / requests) * 1000]));
}
