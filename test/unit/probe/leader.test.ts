import assert from 'node:assert/strict';
import { createLogger } from '../../../src/logger.js';
import type { ApiResponse, KubeApi } from '../../../src/probe/kube-api.js';
import { LeaderElector, MAX_DURATION_FACTOR, microTime } from '../../../src/probe/leader.js';

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  renewTime?: string | null;
}

/** One Lease in memory, written with resourceVersion checks as the API server does. */
function leaseServer(spec: LeaseSpec): { api: KubeApi; spec: () => LeaseSpec } {
  let lease = { metadata: { name: 'levee-probe', namespace: 'levee-system', resourceVersion: '1' }, spec };
  const answer = <T>(status: number, body: T): ApiResponse<T> => ({ status, body, text: JSON.stringify(body) });
  const api = {
    get: async () => answer(200, structuredClone(lease)),
    post: async () => answer(409, {}),
    put: async (_path: string, body: typeof lease) => {
      if (body.metadata.resourceVersion !== lease.metadata.resourceVersion) return answer(409, {});
      lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(lease.metadata.resourceVersion) + 1) } };
      return answer(200, structuredClone(lease));
    },
  };
  return { api: api as unknown as KubeApi, spec: () => lease.spec };
}

describe('probe/leader', () => {
  const start = new Date('2026-11-30T03:00:00.000Z');
  let clock = start.getTime();
  const elector = (api: KubeApi): LeaderElector =>
    new LeaderElector({ api, namespace: 'levee-system', name: 'levee-probe', identity: 'levee-b', leaseDurationSeconds: 4, logger: createLogger('silent'), now: () => new Date(clock) });

  beforeEach(() => (clock = start.getTime()));

  it('does not obey a Lease written once with an absurd duration for ever: at most a few of its own durations', async () => {
    const lease = leaseServer({ holderIdentity: 'someone-else', leaseDurationSeconds: 1_000_000_000, renewTime: microTime(start) });
    const candidate = elector(lease.api);
    assert.equal(await candidate.tryAcquireOrRenew(), false);
    clock += (4 * MAX_DURATION_FACTOR - 1) * 1000;
    assert.equal(await candidate.tryAcquireOrRenew(), false, 'still obeyed within the limit');
    clock += 2000;
    assert.equal(await candidate.tryAcquireOrRenew(), true);
    assert.equal(lease.spec().holderIdentity, 'levee-b');
    assert.equal(lease.spec().leaseDurationSeconds, 4);
  });

  it('obeys a Lease of a reasonable duration for all of it, and takes over once it has not been renewed for longer', async () => {
    const lease = leaseServer({ holderIdentity: 'levee-a', leaseDurationSeconds: 10, renewTime: microTime(start) });
    const candidate = elector(lease.api);
    assert.equal(await candidate.tryAcquireOrRenew(), false);
    clock += 9000;
    assert.equal(await candidate.tryAcquireOrRenew(), false);
    clock += 2000;
    assert.equal(await candidate.tryAcquireOrRenew(), true, 'not renewed for longer than its 10 s');
  });
});
