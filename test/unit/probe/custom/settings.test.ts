import assert from 'node:assert/strict';
import { buildConfig } from '../../../../src/config.js';
import { criticalProbes } from '../../../../src/probe/settings.js';

function configError(custom: unknown): string {
  try {
    buildConfig({ probe: { custom } });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('probe/custom/settings', () => {
  it('accepts an HTTP check, a command and a report, with their defaults', () => {
    const config = buildConfig({
      probe: {
        custom: [
          { name: 'ingress', critical: true, http: { url: 'https://ingress.example/healthz' } },
          { name: 'disk', command: { argv: ['/bin/true'] }, timeoutSeconds: 3, intervalSeconds: 60 },
          { name: 'egress', report: { configMap: 'levee-report-egress' } },
        ],
      },
    });
    const [ingress, disk, egress] = config.probe.custom;
    assert.equal(ingress!.http!.method, 'GET');
    assert.deepEqual(ingress!.http!.headers, {});
    assert.equal(disk!.critical, false);
    assert.deepEqual(disk!.command!.env, {});
    assert.equal(egress!.report!.maxAgeSeconds, 300);
    assert.deepEqual([...criticalProbes(config.probe)].filter((id) => id.startsWith('custom:')), ['custom:ingress']);
  });

  it('keeps the built-in critical probes and adds the custom ones declared critical', () => {
    const config = buildConfig({ probe: { critical: ['dns'], custom: [{ name: 'a', critical: true, command: { argv: ['x'] } }, { name: 'b', command: { argv: ['x'] } }] } });
    assert.deepEqual([...criticalProbes(config.probe)].sort(), ['custom:a', 'dns']);
  });

  it('refuses a declaration with no check, or with two, naming the entry', () => {
    assert.match(configError([{ name: 'x' }]), /probe\.custom\.0: declare exactly one of http, command, report \(none given\)/);
    assert.match(
      configError([{ name: 'ok', command: { argv: ['x'] } }, { name: 'x', http: { url: 'http://a' }, command: { argv: ['x'] } }]),
      /probe\.custom\.1: declare exactly one of http, command, report \(http and command given\)/,
    );
  });

  it('refuses a name twice, a bad name, an unknown key, a bad URL, an empty command', () => {
    assert.match(configError([{ name: 'a', command: { argv: ['x'] } }, { name: 'a', command: { argv: ['y'] } }]), /probe\.custom\.1\.name: a is declared twice/);
    assert.match(configError([{ name: 'Not_A_Name', command: { argv: ['x'] } }]), /probe\.custom\.0\.name: must be lower-case letters/);
    assert.match(configError([{ name: 'a', command: { argv: ['x'] }, critcal: true }]), /probe\.custom\.0\.critcal: unknown key/);
    assert.match(configError([{ name: 'a', http: { url: 'ftp://example.com/' } }]), /probe\.custom\.0\.http\.url: must be an http:\/\/ or https:\/\/ URL/);
    assert.match(configError([{ name: 'a', http: { url: 'http://' } }]), /probe\.custom\.0\.http\.url: must be an http:\/\/ or https:\/\/ URL/);
    assert.match(configError([{ name: 'a', command: { argv: [] } }]), /probe\.custom\.0\.command\.argv/);
    assert.match(configError([{ name: 'a', command: { argv: [''] } }]), /probe\.custom\.0\.command\.argv: the program \(argv\[0\]\) must not be empty/);
    assert.match(configError([{ name: 'a', http: { url: 'http://a', expectStatus: [700] } }]), /probe\.custom\.0\.http\.expectStatus\.0/);
    assert.match(configError([{ name: 'a', report: { configMap: 'Bad Name' } }]), /probe\.custom\.0\.report\.configMap: must be a ConfigMap name/);
    assert.match(configError({ name: 'a' }), /probe\.custom: /);
    assert.match(configError([{ name: 'a', http: { url: 'http://a', headers: { 'X-Team': 'ops\r\nInjected: yes' } } }]), /probe\.custom\.0\.http\.headers\.X-Team: a header value is one line/);
    assert.match(configError([{ name: 'a', http: { url: 'http://a', headers: { 'Bad Name': 'x' } } }]), /probe\.custom\.0\.http\.headers/);
    assert.match(configError([{ name: 'a', http: { url: ' http://a' } }]), /probe\.custom\.0\.http\.url: must be an http:\/\/ or https:\/\/ URL/);
    // Malformed entries get an error each, never a crash of the checks that run over the whole list.
    assert.match(configError([null, { name: 5, command: { argv: ['x'] } }, { name: 'b', command: 'x' }, { name: 'c', http: 'x', command: { argv: [] } }]), /probe\.custom\.0: .*probe\.custom\.1\.name: .*probe\.custom\.2\.command: /);
  });
});
