// `npm test`'s own cluster: its own state directory and ports, so that the e2e suites never
// read or change the developer's `npm start` cluster (.levee/cluster), and two checkouts can
// test at once.
//
// Ports: with LEVEE_CLUSTER_PORT_BASE=B set, the test cluster is laid out from B+5, which
// shares no port with B's layout (npm start's) nor with any other developer's B+20k; without
// it, a free block is claimed for the test cluster's directory (ports.mjs). The servers the
// tests start themselves (levee serve, levee probe, recorders) take LEVEE_E2E_PORT_BASE +
// offset when that is set, else offset within the claimed block.
import { join } from 'node:path';
import { clusterPorts, portsFromBase, repoRoot } from './layout.mjs';
import { BLOCK_SIZE, CLUSTER_OFFSET, claimPortBlock } from './ports.mjs';

export const TEST_CLUSTER_DIR = join(repoRoot, '.levee', 'test-cluster');
export const TEST_CLUSTER_SHIFT = 5;
/** Offsets a test may add to testServerPortBase(): 0 .. E2E_PORT_SPAN - 1. */
export const E2E_PORT_SPAN = Math.min(100, CLUSTER_OFFSET, BLOCK_SIZE);

/**
 * clusterUp/clusterDown options for the test cluster: its directory, its ports, and node
 * settings from the defaults alone (a developer's LEVEE_NODES_* shape their own cluster only).
 * @param {NodeJS.ProcessEnv} [env]
 */
export function testClusterOptions(env = process.env) {
  const raw = env.LEVEE_CLUSTER_PORT_BASE;
  const ports = raw === undefined || raw === '' ? 'auto' : portsFromBase(clusterPorts(env).base + TEST_CLUSTER_SHIFT);
  return { dir: TEST_CLUSTER_DIR, ports, env: {} };
}

/**
 * Where the tests' own servers listen: port = base + offset, offset below E2E_PORT_SPAN.
 * Without LEVEE_E2E_PORT_BASE this claims (or finds) the test cluster directory's block, so
 * call it after the directory exists (after clusterUp).
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<number>}
 */
export async function testServerPortBase(env = process.env, dir = TEST_CLUSTER_DIR) {
  const raw = env.LEVEE_E2E_PORT_BASE;
  if (raw !== undefined && raw !== '') {
    const base = Number(raw);
    if (!Number.isInteger(base) || base < 1024 || base + E2E_PORT_SPAN > 65535) {
      throw new Error(`levee: LEVEE_E2E_PORT_BASE must be a whole number from 1024 to ${65535 - E2E_PORT_SPAN}, got ${JSON.stringify(raw)}`);
    }
    return base;
  }
  return claimPortBlock(dir);
}
