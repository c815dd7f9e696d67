import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCerts } from '../../../../src/certs/generate.js';
import { certificateExpiry } from '../../../../src/probe/probes/certificate-expiry.js';
import { context } from '../../../support/probe-context.js';

describe('probe/probes/certificate-expiry', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'levee-cert-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fails a certificate that expires within the minimum and passes a fresh one', async () => {
    const realNow = () => new Date();
    const short = await generateCerts({ dnsNames: ['localhost'], ipAddresses: [], validDays: 5 });
    writeFileSync(join(dir, 'short.crt'), short.serverCert);
    const failing = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'short.crt') }, { now: realNow }));
    assert.equal(failing.ok, false);
    assert.match(failing.message, /expires in [45] days .* under the 14-day minimum/);
    const long = await generateCerts({ dnsNames: ['localhost'], ipAddresses: [], validDays: 365 });
    writeFileSync(join(dir, 'long.crt'), long.serverCert);
    const passing = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'long.crt') }, { now: realNow }));
    assert.equal(passing.ok, true, passing.message);
  });

  it('skips a missing file and fails one that is not a certificate', async () => {
    const missing = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'absent.crt') }));
    assert.equal(missing.skipped, true);
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
    const junk = await certificateExpiry.run(context({}, { certificateFile: join(dir, 'junk.crt') }));
    assert.equal(junk.ok, false);
    assert.match(junk.message, /not a PEM certificate/);
  });
});
