import assert from 'node:assert/strict';
import { aggregatingRecorder, eventNamespace, involvedObjectOf, type EventBody, type EventSink } from '../../../src/cluster/events.js';
import { createLogger } from '../../../src/logger.js';
import type { AdmissionRequest } from '../../../src/kube/types.js';
import { admissionRequest, GVK, GVR } from '../../support/requests.js';

function deploymentUpdate(name = 'ledger', uid = 'uid-ledger'): AdmissionRequest {
  const object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'payments', uid }, spec: { replicas: 0 } };
  return admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', namespace: 'payments', name, object, oldObject: { ...object, spec: { replicas: 3 } } });
}

/** A sink that answers when told to, and writes down every call. */
function heldSink(): EventSink & { calls: string[]; bodies: EventBody[]; release(): Promise<void>; failNext: boolean } {
  const waiting: Array<() => void> = [];
  let created = 0;
  const sink = {
    calls: [] as string[],
    bodies: [] as EventBody[],
    failNext: false,
    async create(namespace: string, body: EventBody) {
      sink.calls.push(`create ${namespace} count=${body.count}`);
      sink.bodies.push(body);
      const fail = sink.failNext;
      sink.failNext = false;
      await new Promise<void>((resolve) => waiting.push(resolve));
      if (fail) throw new Error('the API server said no');
      return `levee-${++created}`;
    },
    async update(namespace: string, name: string, count: number) {
      sink.calls.push(`update ${namespace}/${name} count=${count}`);
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    async release() {
      while (waiting.length > 0) {
        waiting.shift()!();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
  return sink;
}

const logger = createLogger('silent');

describe('cluster/events', () => {
  describe('involvedObjectOf: what kubectl describe matches an Event by', () => {
    it('names the object under review with its apiVersion, kind, namespace and uid', () => {
      assert.deepEqual(involvedObjectOf(deploymentUpdate()), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ledger', namespace: 'payments', uid: 'uid-ledger' });
    });

    it('names the parent workload for a scale request, with the uid the Scale object carries', () => {
      const scale = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'ledger', namespace: 'payments', uid: 'uid-ledger' }, spec: { replicas } });
      const request = admissionRequest({
        kind: GVK.scale,
        resource: GVR.deployments,
        subResource: 'scale',
        operation: 'UPDATE',
        namespace: 'payments',
        name: 'ledger',
        object: scale(0),
        oldObject: scale(3),
      });
      assert.deepEqual(involvedObjectOf(request), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ledger', namespace: 'payments', uid: 'uid-ledger' });
    });

    it('names a Cluster API MachineDeployment for a scale of it, in its own group and version', () => {
      const scale = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'workers', namespace: 'fleet', uid: 'uid-md' }, spec: { replicas } });
      const request = admissionRequest({
        kind: GVK.scale,
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
        subResource: 'scale',
        operation: 'UPDATE',
        namespace: 'fleet',
        name: 'workers',
        object: scale(0),
        oldObject: scale(3),
      });
      assert.deepEqual(involvedObjectOf(request), { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', name: 'workers', namespace: 'fleet', uid: 'uid-md' });
    });

    it('puts the Events of a cluster-scoped object in default, as Kubernetes does', () => {
      const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1', uid: 'uid-node' } };
      const request = admissionRequest({ kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' }, operation: 'DELETE', namespace: '', name: 'worker-1', oldObject: node });
      const object = involvedObjectOf(request);
      assert.deepEqual(object, { apiVersion: 'v1', kind: 'Node', name: 'worker-1', uid: 'uid-node' });
      assert.equal(eventNamespace(object), 'default');
    });

    it('never places an Event outside the request\'s namespace, whatever namespace the object claims', () => {
      const request = deploymentUpdate();
      request.object!.metadata!.namespace = 'kube-system';
      assert.equal(eventNamespace(involvedObjectOf(request)), 'payments');
    });
  });

  describe('aggregatingRecorder', () => {
    const denied = (request: AdmissionRequest, message = 'levee denied this request: [scale-to-zero] ...') => ({ request, reason: 'LeveeDenied' as const, type: 'Warning' as const, message });

    it('raises the count of one Event for repeats, folding those that arrive meanwhile into one update', async () => {
      const sink = heldSink();
      const drops: string[] = [];
      const recorder = aggregatingRecorder({ sink, logger, dropped: (why) => drops.push(why) });
      for (let i = 0; i < 5; i++) recorder.record(denied(deploymentUpdate()));
      await sink.release();
      recorder.record(denied(deploymentUpdate()));
      await sink.release();
      assert.deepEqual(sink.calls, ['create payments count=1', 'update payments/levee-1 count=5', 'update payments/levee-1 count=6']);
      assert.deepEqual(drops, []);
    });

    it('keeps apart other objects, reasons and messages', async () => {
      const sink = heldSink();
      const recorder = aggregatingRecorder({ sink, logger, dropped: () => undefined });
      recorder.record(denied(deploymentUpdate()));
      recorder.record(denied(deploymentUpdate('ledger', 'uid-other')));
      recorder.record(denied(deploymentUpdate(), 'levee denied this request: [probe-gate] ...'));
      recorder.record({ ...denied(deploymentUpdate()), reason: 'LeveeOverride' });
      await sink.release();
      assert.equal(sink.calls.filter((call) => call.startsWith('create')).length, 4);
    });

    it('starts a new Event once the last one is older than the aggregation window', async () => {
      const sink = heldSink();
      let now = Date.parse('2026-11-23T12:00:00Z');
      const recorder = aggregatingRecorder({ sink, logger, dropped: () => undefined, now: () => new Date(now), aggregateMs: 60_000 });
      recorder.record(denied(deploymentUpdate()));
      await sink.release();
      now += 61_000;
      recorder.record(denied(deploymentUpdate()));
      await sink.release();
      assert.deepEqual(sink.calls, ['create payments count=1', 'create payments count=1']);
    });

    it('drops a new Event past the bound of Events being written, and counts it; repeats of one in flight still count', async () => {
      const sink = heldSink();
      const drops: string[] = [];
      const recorder = aggregatingRecorder({ sink, logger, dropped: (why) => drops.push(why), maxInFlight: 2 });
      recorder.record(denied(deploymentUpdate('a', 'uid-a')));
      recorder.record(denied(deploymentUpdate('b', 'uid-b')));
      recorder.record(denied(deploymentUpdate('c', 'uid-c')));
      recorder.record(denied(deploymentUpdate('a', 'uid-a')));
      await sink.release();
      assert.deepEqual(drops, ['overload']);
      assert.deepEqual(sink.calls, ['create payments count=1', 'create payments count=1', 'update payments/levee-1 count=2']);
    });

    it('counts an Event the API server refused, and writes the next occurrence afresh', async () => {
      const sink = heldSink();
      const drops: string[] = [];
      const recorder = aggregatingRecorder({ sink, logger, dropped: (why) => drops.push(why) });
      sink.failNext = true;
      recorder.record(denied(deploymentUpdate()));
      await sink.release();
      recorder.record(denied(deploymentUpdate()));
      await sink.release();
      assert.deepEqual(drops, ['failed']);
      assert.deepEqual(sink.calls, ['create payments count=1', 'create payments count=1']);
    });

    it('clips a long message to what an Event holds', async () => {
      const sink = heldSink();
      const recorder = aggregatingRecorder({ sink, logger, dropped: () => undefined });
      recorder.record(denied(deploymentUpdate(), 'x'.repeat(5000)));
      await sink.release();
      assert.equal(sink.bodies[0]!.message.length, 1024);
    });
  });
});
