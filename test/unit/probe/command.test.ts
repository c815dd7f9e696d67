import assert from 'node:assert/strict';
import { runProbeCommand } from '../../../src/probe/command.js';

describe('probe/command: the fleet flags', () => {
  it('needs both the member contexts and the hub context', async () => {
    await assert.rejects(runProbeCommand({ context: ['edge'] }), /a fleet needs both --context .* and --hub-context/);
    await assert.rejects(runProbeCommand({ hubContext: 'hub' }), /a fleet needs both --context .* and --hub-context/);
  });

  it('refuses --once over a fleet: its JSON and exit code are one cluster\'s', async () => {
    await assert.rejects(runProbeCommand({ once: true, context: ['edge', 'hub'], hubContext: 'hub' }), /levee probe --once probes one cluster/);
  });

  it('refuses a fleet member named like the hub\'s own verdict before probing anything', async () => {
    await assert.rejects(runProbeCommand({ kubeconfig: '/nonexistent/kubeconfig', context: ['cluster'], hubContext: 'hub' }), /the name "cluster" is the hub's own verdict/);
  });
});
