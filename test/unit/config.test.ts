import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { buildConfig, configFromEnvironment, readConfigFile } from '../../src/config.js';
import { ConfigError, LeveeError } from '../../src/errors.js';

function configErrorMatching(pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, pattern);
    return true;
  };
}

describe('config', () => {
  describe('buildConfig defaults', () => {
    const config = buildConfig();

    it('serves on 8443 with the shipped bundle and levee-system as its namespace', () => {
      assert.equal(config.server.port, 8443);
      assert.equal(config.server.host, '0.0.0.0');
      assert.equal(config.server.bodyLimitBytes, 3.25 * 1024 * 1024, 'object and oldObject at etcd\'s 1.5 MiB each, and 256 KiB of envelope');
      assert.ok(config.server.keepAliveTimeoutMs > 90_000, 'keep-alive must outlast the API server idle timeout');
      // The bundle inside levee's own package, whatever the working directory (`npx levee audit` runs in the user's repository).
      assert.equal(config.bundlePath, resolve('dist/policies/bundle.tar.gz'));
      assert.ok(isAbsolute(config.bundlePath));
      assert.equal(config.leveeNamespace, 'levee-system');
      assert.equal(config.logLevel, 'info');
      assert.equal(config.kubeconfig, undefined);
    });

    it('denies scale to zero but only warns for autoscalers and deleted last backends', () => {
      const policy = config.policies['scale-to-zero'];
      assert.equal(policy.action, 'deny');
      assert.deepEqual(policy.rules, { 'autoscaler-to-zero': 'warn', 'last-backend-deleted': 'warn' });
      assert.deepEqual(policy.exemptWorkloads, []);
      assert.deepEqual(policy.exempt, { namespaces: [], users: [], groups: [] });
    });

    it('configures every policy with deny and no exemptions', () => {
      for (const id of ['version-skew', 'spot-capacity', 'probe-gate'] as const) {
        assert.equal(config.policies[id].action, 'deny', id);
        assert.deepEqual(config.policies[id].exempt, { namespaces: [], users: [], groups: [] }, id);
      }
      assert.deepEqual(config.exempt, { namespaces: [], users: [], groups: [] });
    });
  });

  describe('buildConfig layering', () => {
    it('merges mappings deeply, so a later layer changes one key and keeps its siblings', () => {
      const config = buildConfig({ server: { port: 9443 } }, { server: { host: '127.0.0.1' } });
      assert.equal(config.server.port, 9443);
      assert.equal(config.server.host, '127.0.0.1');
      assert.equal(config.server.tlsCertFile, 'certs/tls.crt');
    });

    it('lets a later layer override an earlier one', () => {
      const config = buildConfig({ logLevel: 'debug', server: { port: 9443 } }, { logLevel: 'warn' });
      assert.equal(config.logLevel, 'warn');
      assert.equal(config.server.port, 9443);
    });

    it('replaces lists instead of concatenating them', () => {
      const config = buildConfig({ exempt: { namespaces: ['a', 'b'] } }, { exempt: { namespaces: ['c'] } });
      assert.deepEqual(config.exempt.namespaces, ['c']);
    });

    it('sets one scale-to-zero rule and keeps the default of the other', () => {
      const config = buildConfig({ policies: { 'scale-to-zero': { rules: { 'autoscaler-to-zero': 'deny' } } } });
      assert.deepEqual(config.policies['scale-to-zero'].rules, { 'autoscaler-to-zero': 'deny', 'last-backend-deleted': 'warn' });
      assert.equal(config.policies['scale-to-zero'].action, 'deny');
    });

    it('skips null and undefined layers and undefined values', () => {
      const config = buildConfig(null, { logLevel: 'debug' }, undefined, { logLevel: undefined });
      assert.equal(config.logLevel, 'debug');
    });

    it('does not share or freeze the caller\'s objects', () => {
      const namespaces = ['team-a'];
      const layer = { exempt: { namespaces } };
      const config = buildConfig(layer);
      assert.deepEqual(config.exempt.namespaces, ['team-a']);
      assert.equal(Object.isFrozen(namespaces), false);
      assert.equal(Object.isFrozen(layer.exempt), false);
    });

    it('gives each call its own configuration', () => {
      const exempted = buildConfig({ policies: { 'scale-to-zero': { exempt: { namespaces: ['batch'] } } } });
      const plain = buildConfig();
      assert.deepEqual(exempted.policies['scale-to-zero'].exempt.namespaces, ['batch']);
      assert.deepEqual(plain.policies['scale-to-zero'].exempt.namespaces, []);
    });
  });

  describe('buildConfig validation', () => {
    it('rejects an unknown policy setting, naming where it is and the key', () => {
      assert.throws(
        () => buildConfig({ policies: { 'scale-to-zero': { bogus: true } } }),
        configErrorMatching(/policies\.scale-to-zero\b.*\bbogus\b/),
      );
    });

    it('rejects an unknown top-level key, naming it', () => {
      assert.throws(() => buildConfig({ bogusSetting: 1 }), configErrorMatching(/bogusSetting/));
    });

    it('rejects an unknown scale-to-zero rule, naming the rule', () => {
      assert.throws(
        () => buildConfig({ policies: { 'scale-to-zero': { rules: { 'no-such-rule': 'deny' } } } }),
        configErrorMatching(/policies\.scale-to-zero\.rules\b.*no-such-rule/),
      );
    });

    it('rejects a wrong type, naming its key', () => {
      assert.throws(() => buildConfig({ server: { port: '8443' } }), configErrorMatching(/server\.port/));
    });

    it('rejects a watch silence bound that a healthy quiet watch would reach, naming the key', () => {
      assert.throws(() => buildConfig({ kubeClient: { watchTimeoutSeconds: 60, watchSilenceSeconds: 45 } }), configErrorMatching(/kubeClient\.watchSilenceSeconds: must exceed watchTimeoutSeconds/));
      assert.equal(buildConfig({ kubeClient: { watchTimeoutSeconds: 60, watchSilenceSeconds: 75 } }).kubeClient.watchSilenceSeconds, 75);
      assert.deepEqual({ ...buildConfig({}).kubeClient }, { requestTimeoutMs: 10_000, watchTimeoutSeconds: 30, watchSilenceSeconds: 45 });
    });

    it('rejects an out-of-range port', () => {
      assert.throws(() => buildConfig({ server: { port: 70000 } }), configErrorMatching(/server\.port/));
    });

    it('rejects an action that is not deny, warn or audit, naming its key', () => {
      assert.throws(() => buildConfig({ policies: { 'probe-gate': { action: 'block' } } }), configErrorMatching(/policies\.probe-gate\.action/));
    });

    it('rejects an exempt workload that is not namespace/name, naming the entry', () => {
      assert.throws(
        () => buildConfig({ policies: { 'scale-to-zero': { exemptWorkloads: ['default/web', 'just-a-name'] } } }),
        configErrorMatching(/policies\.scale-to-zero\.exemptWorkloads\.1: "just-a-name" is not namespace\/name/),
      );
    });

    // Each setting that names labels or namespaces, with a name no cluster can hold: a setting
    // that could never match anything is refused at start, naming its key and the value.
    const badNames: Array<[string, unknown, RegExp]> = [
      ['a spread topology key with a space', { policies: { 'spot-capacity': { spread: { topologyKey: 'capacity type' } } } }, /policies\.spot-capacity\.spread\.topologyKey: "capacity type" is not a label key/],
      ['a capacity label with an upper-case prefix', { policies: { 'spot-capacity': { capacityLabels: [{ label: 'Karpenter.sh/capacity-type', spotValues: ['spot'] }] } } }, /policies\.spot-capacity\.capacityLabels\.0\.label: "Karpenter\.sh\/capacity-type" is not a label key/],
      ['a spot value with a space', { policies: { 'spot-capacity': { capacityLabels: [{ label: 'example.com/lifecycle', spotValues: ['spot instance'] }] } } }, /policies\.spot-capacity\.capacityLabels\.0\.spotValues\.0: "spot instance" is not a label value/],
      ['an on-demand value of 64 characters', { policies: { 'spot-capacity': { capacityLabels: [{ label: 'example.com/lifecycle', onDemandValues: ['x'.repeat(64)] }] } } }, /capacityLabels\.0\.onDemandValues\.0: "x{64}" is not a label value/],
      ['a pool label with two slashes', { policies: { 'spot-capacity': { poolLabels: ['example.com/pool/name'] } } }, /policies\.spot-capacity\.poolLabels\.0: "example\.com\/pool\/name" is not a label key/],
      ['a critical label key with a trailing slash', { policies: { 'spot-capacity': { critical: { labels: { 'example.com/': 'true' } } } } }, /policies\.spot-capacity\.critical\.labels\.example\.com\/: "example\.com\/" is not a label key/],
      ['a critical label value with a slash', { policies: { 'spot-capacity': { critical: { labels: { tier: 'front/end' } } } } }, /policies\.spot-capacity\.critical\.labels\.tier: "front\/end" is not a label value/],
      ['a critical namespace in upper case', { policies: { 'spot-capacity': { critical: { namespaces: ['Payments'] } } } }, /policies\.spot-capacity\.critical\.namespaces\.0: "Payments" is not a namespace name/],
      ['an upgrade intent\'s cluster label with a space', { policies: { 'version-skew': { upgradeIntents: [{ group: 'upgrades.example.com', kind: 'Plan', versions: ['v1'], versionField: 'spec.version', role: 'workers', clusterLabel: 'cluster name' }] } } }, /upgradeIntents\.0\.clusterLabel: "cluster name" is not a label key/],
      ['an add-on namespace with an underscore', { policies: { 'version-skew': { addons: { namespaces: ['kube_system'] } } } }, /policies\.version-skew\.addons\.namespaces\.0: "kube_system" is not a namespace name/],
      ['an exempt namespace with a wildcard', { exempt: { namespaces: ['team-*'] } }, /exempt\.namespaces\.0: "team-\*" is not a namespace name/],
      ['a policy\'s exempt namespace in upper case', { policies: { 'scale-to-zero': { exempt: { namespaces: ['Batch'] } } } }, /policies\.scale-to-zero\.exempt\.namespaces\.0: "Batch" is not a namespace name/],
      ['a probe-gate namespace with a dot', { policies: { 'probe-gate': { allowNamespaces: ['ops.tools'] } } }, /policies\.probe-gate\.allowNamespaces\.0: "ops\.tools" is not a namespace name/],
      ['a platform namespace that is empty', { policies: { 'probe-on-change': { namespaces: [''] } } }, /policies\.probe-on-change\.namespaces\.0: "" is not a namespace name/],
      ['levee\'s own namespace in upper case', { leveeNamespace: 'Levee-System' }, /leveeNamespace: "Levee-System" is not a namespace name/],
      ['an exempt workload in a namespace with a dot', { policies: { 'scale-to-zero': { exemptWorkloads: ['shop.prod/*'] } } }, /exemptWorkloads\.0: "shop\.prod\/\*" is not namespace\/name/],
      ['an automation service account in a namespace with a space', { overrides: { automation: { serviceAccounts: ['Argo CD/argocd-server'] } } }, /overrides\.automation\.serviceAccounts\.0: "Argo CD\/argocd-server" is not namespace\/name/],
      ['a DNS Service in a namespace of 70 characters', { probe: { dns: { service: `${'k'.repeat(70)}/kube-dns` } } }, /probe\.dns\.service: must be namespace\/name/],
      ['a label key whose prefix is longer than 253 characters', { policies: { 'spot-capacity': { poolLabels: [`${'p'.repeat(254)}/pool`] } } }, /poolLabels\.0: "p{254}\/pool" is not a label key: its prefix is longer than 253 characters/],
    ];
    for (const [what, layer, message] of badNames) {
      it(`rejects ${what}, naming its key and the value`, () => {
        assert.throws(() => buildConfig(layer), configErrorMatching(message));
      });
    }

    it('takes the label keys, values and namespaces a cluster can hold, and every default', () => {
      const config = buildConfig({
        exempt: { namespaces: ['batch-0'] },
        overrides: { automation: { serviceAccounts: ['*/argocd-server', 'flux-*/kustomize-controller'] } },
        policies: {
          'spot-capacity': {
            capacityLabels: [{ label: 'example.com/lifecycle', spotValues: ['Ec2Spot'], onDemandValues: ['', 'OnDemand'] }],
            poolLabels: ['pool'],
            critical: { labels: { 'tier.example.com/class': 'gold_1.a' }, namespaces: ['payments'] },
            spread: { topologyKey: 'example.com/lifecycle' },
          },
        },
      });
      assert.equal(config.policies['spot-capacity'].spread.topologyKey, 'example.com/lifecycle');
      assert.deepEqual(config.policies['spot-capacity'].critical.labels, { 'tier.example.com/class': 'gold_1.a' });
    });

    it('rejects a layer that is not a mapping', () => {
      assert.throws(() => buildConfig(['port', 8443]), configErrorMatching(/\(root\): expected a mapping/));
    });

    it('rejects a scalar where a mapping belongs, naming the key', () => {
      assert.throws(() => buildConfig({ server: 8443 }), configErrorMatching(/^invalid configuration: server\b/));
    });
  });

  describe('the built configuration', () => {
    it('is frozen all the way down', () => {
      const config = buildConfig({ exempt: { namespaces: ['kube-system'] } });
      assert.ok(Object.isFrozen(config));
      assert.ok(Object.isFrozen(config.server));
      assert.ok(Object.isFrozen(config.policies['scale-to-zero'].rules));
      assert.ok(Object.isFrozen(config.exempt.namespaces));
      assert.throws(() => {
        (config.server as { port: number }).port = 1;
      }, TypeError);
      assert.throws(() => {
        (config.exempt.namespaces as string[]).push('default');
      }, TypeError);
      assert.equal(config.server.port, 8443);
      assert.deepEqual(config.exempt.namespaces, ['kube-system']);
    });
  });

  describe('readConfigFile', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'levee-config-'));
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    function file(name: string, text: string): string {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    }

    it('reads YAML', () => {
      const path = file('levee.yaml', 'server:\n  port: 9443\npolicies:\n  scale-to-zero:\n    action: warn\n');
      const parsed = readConfigFile(path);
      assert.deepEqual(parsed, { server: { port: 9443 }, policies: { 'scale-to-zero': { action: 'warn' } } });
      assert.equal(buildConfig(parsed).policies['scale-to-zero'].action, 'warn');
    });

    it('reads JSON', () => {
      const path = file('levee.json', '{"leveeNamespace": "guards"}');
      assert.deepEqual(readConfigFile(path), { leveeNamespace: 'guards' });
    });

    it('reads an empty file as no settings', () => {
      assert.deepEqual(readConfigFile(file('empty.yaml', '')), {});
    });

    it('names a missing file', () => {
      const path = join(dir, 'absent.yaml');
      assert.throws(
        () => readConfigFile(path),
        (err: unknown) => err instanceof LeveeError && err.code === 'CONFIG_UNREADABLE' && err.message.includes(path),
      );
    });

    it('names a file that is not valid YAML', () => {
      const path = file('broken.yaml', 'server:\n  port: [8443\n');
      assert.throws(() => readConfigFile(path), configErrorMatching(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*not valid YAML`)));
    });

    for (const [what, text] of [
      ['a list', '- server\n- policies\n'],
      ['a scalar', 'just words\n'],
    ] as const) {
      it(`names a file whose top level is ${what}, not a mapping`, () => {
        const path = file(`${what.replace(' ', '-')}.yaml`, text);
        assert.throws(
          () => readConfigFile(path),
          (err: unknown) => err instanceof ConfigError && err.message.includes(path) && /must be a mapping/.test(err.message),
        );
      });
    }
  });

  describe('configFromEnvironment', () => {
    it('reads LEVEE_CONFIG and KUBECONFIG only when set', () => {
      const read = configFromEnvironment({ LEVEE_CONFIG: '/etc/levee.yaml', KUBECONFIG: '/k', HOME: '/root' });
      assert.equal(read.configFile, '/etc/levee.yaml');
      assert.equal(read.kubeconfig, '/k');
      const empty = configFromEnvironment({ LEVEE_CONFIG: '' });
      assert.equal('configFile' in empty, false);
      assert.equal('kubeconfig' in empty, false);
    });

    it('turns colour off when NO_COLOR is set, even to an empty string', () => {
      assert.equal(configFromEnvironment({ NO_COLOR: '' }).noColour, true);
      assert.equal(configFromEnvironment({}).noColour, false);
    });
  });
});
