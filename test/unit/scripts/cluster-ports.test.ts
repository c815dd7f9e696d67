import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

type PortMap = Record<string, number>;
interface Scripts {
  portsFromBase(base: number): PortMap;
  clusterPorts(env: NodeJS.ProcessEnv): PortMap;
  testClusterOptions(env: NodeJS.ProcessEnv): { dir: string; ports: PortMap | 'auto'; env: NodeJS.ProcessEnv };
  testServerPortBase(env: NodeJS.ProcessEnv, dir: string): Promise<number>;
  claimPortBlock(dir: string): Promise<number>;
}

const load = async (): Promise<Scripts> => (await import(pathToFileURL(join(process.cwd(), 'scripts', 'cluster.mjs')).href)) as Scripts;
const componentPorts = (ports: PortMap): number[] => Object.entries(ports).filter(([name]) => name !== 'base').map(([, port]) => port);

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('scripts/cluster: ports of the developer\'s cluster and of the test cluster', () => {
  it('lays the test cluster out from LEVEE_CLUSTER_PORT_BASE + 5, sharing no port with any team layout', async () => {
    const scripts = await load();
    const bases = Array.from({ length: 14 }, (_, i) => 16000 + 20 * i); // the team's bases
    const taken = new Map<number, string>();
    for (const base of bases) {
      const env = { LEVEE_CLUSTER_PORT_BASE: String(base) };
      const test = scripts.testClusterOptions(env);
      assert.notEqual(test.ports, 'auto');
      assert.deepEqual(test.env, {}, 'node settings from the defaults alone');
      assert.match(test.dir, /\.levee\/test-cluster$/);
      for (const [who, ports] of [[`dev ${base}`, scripts.clusterPorts(env)], [`test ${base}`, test.ports as PortMap]] as const) {
        for (const port of componentPorts(ports)) {
          assert.ok(!taken.has(port), `${who} port ${port} is also ${taken.get(port)}'s`);
          taken.set(port, who);
        }
      }
    }
  });

  it('claims a free block of ports for a directory without LEVEE_CLUSTER_PORT_BASE, the same one while it holds it', async () => {
    const scripts = await load();
    assert.equal(scripts.testClusterOptions({}).ports, 'auto');
    const root = mkdtempSync(join(tmpdir(), 'levee-ports-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = join(root, 'tmp');
    mkdirSync(process.env.TMPDIR);
    const [a, b] = [join(root, 'a'), join(root, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    try {
      const first = await scripts.claimPortBlock(a);
      assert.equal(await scripts.claimPortBlock(a), first, 'a directory keeps its block');
      const other = await scripts.claimPortBlock(b);
      assert.ok(Math.abs(other - first) >= 128, `two directories get distinct blocks (${first}, ${other})`);
      assert.ok(first >= 24_320 && first + 128 <= 32_768, `below the ephemeral range: ${first}`);
      assert.equal(await scripts.testServerPortBase({}, a), first);
      assert.equal(await scripts.testServerPortBase({ LEVEE_E2E_PORT_BASE: '19100' }, a), 19100);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('takes over a claim left by a directory that is gone, never one still held, nor a block with a port in use', async () => {
    const scripts = await load();
    const root = mkdtempSync(join(tmpdir(), 'levee-ports-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = join(root, 'tmp'); // claim files of this test only
    mkdirSync(process.env.TMPDIR);
    const claim = (base: number): string => join(root, 'tmp', 'levee-port-claims', String(base));
    const [dir, other] = [join(root, 'c'), join(root, 'other')];
    mkdirSync(dir);
    mkdirSync(other);
    const servers: Server[] = [];
    try {
      const first = await scripts.claimPortBlock(dir);
      // Left over: its directory is gone and the process that wrote it too.
      writeFileSync(claim(first), JSON.stringify({ dir: join(root, 'gone'), pid: 999_999_999, at: 0 }));
      rmSync(join(dir, 'block.json'));
      assert.equal(await scripts.claimPortBlock(dir), first, 'a left-over claim is taken over');
      // Held: the other directory records the block.
      writeFileSync(claim(first), JSON.stringify({ dir: other, pid: 999_999_999, at: 0 }));
      writeFileSync(join(other, 'block.json'), JSON.stringify({ base: first }));
      rmSync(join(dir, 'block.json'));
      const second = await scripts.claimPortBlock(dir);
      assert.notEqual(second, first, 'a held block is never taken');
      // A port in use in the block this directory would get next.
      rmSync(join(dir, 'block.json'));
      rmSync(claim(second));
      servers.push(await listen(second + 17));
      const third = await scripts.claimPortBlock(dir);
      assert.ok(third !== first && third !== second, `a block with a port in use is passed over (${first}, ${second}, ${third})`);
    } finally {
      for (const server of servers) server.close();
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      rmSync(root, { recursive: true, force: true });
    }
  });
});
