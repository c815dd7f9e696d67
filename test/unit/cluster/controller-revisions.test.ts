import assert from 'node:assert/strict';
import { revisionTemplateOf, toControllerRevisionView } from '../../../src/cluster/controller-revisions.js';
import { templateHash } from '../../../src/kube/template-hash.js';
import type { KubeObject } from '../../../src/kube/types.js';

const template = { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'agent:1' }] } };

function revision(data: unknown, owner = true): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: 'agent-7d9', namespace: 'kube-system', ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'uid-agent', controller: true }] } : {}) },
    data,
    revision: 1,
  };
}

describe('cluster/controller-revisions', () => {
  it('reads the template a revision restores, without the $patch directive the controllers add', () => {
    const stored = { spec: { template: { ...template, metadata: { ...template.metadata, creationTimestamp: null }, $patch: 'replace' } } };
    assert.deepEqual(revisionTemplateOf(revision(stored)), { ...template, metadata: { ...template.metadata, creationTimestamp: null } });
    assert.equal(toControllerRevisionView(revision(stored)).templateHash, templateHash(template), 'the hash a DaemonSet update carrying that template gets');
    assert.equal(toControllerRevisionView(revision(stored)).ownerUid, 'uid-agent');
  });

  it('keeps what it can of odd revisions', () => {
    assert.deepEqual(toControllerRevisionView(revision('raw bytes')), { namespace: 'kube-system', name: 'agent-7d9', ownerUid: 'uid-agent' });
    assert.deepEqual(toControllerRevisionView(revision({ spec: { template } }, false)), { namespace: 'kube-system', name: 'agent-7d9', templateHash: templateHash(template) });
  });
});
