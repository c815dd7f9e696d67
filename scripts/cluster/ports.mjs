// Ports for clusters that must not collide with anyone's: a test run's cluster beside the
// developer's `npm start` cluster, another checkout's test run, a second cluster a test starts.
//
// A block of BLOCK_SIZE consecutive ports is claimed for a state directory: its slot is derived
// from the directory's path (so a checkout tends to get the same ports every run), every port
// in it must be free to bind on 127.0.0.1, and a claim file under the system's temporary
// directory (one per block, naming the state directory) keeps two runs from taking the same
// block at once. Blocks lie between AUTO_FIRST and AUTO_LAST: above the default layouts of
// `npm start`'s clusters (bases 16000 and up to about 16400 reach 24200) and below the kernel's
// ephemeral range (32768 and up), where an outgoing connection could take a port between the
// check and the bind.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BLOCK_SIZE = 128;
const AUTO_FIRST = 24_320;
const AUTO_LAST = 32_640;
const SLOTS = Math.floor((AUTO_LAST - AUTO_FIRST) / BLOCK_SIZE);
// Within a block: offsets 0..99 for servers a test starts (levee serve, probe, recorders),
// 100..105 for the cluster's components.
export const CLUSTER_OFFSET = 100;

const claimsDir = () => join(tmpdir(), 'levee-port-claims');
const claimFile = (base) => join(claimsDir(), `${base}`);

function canBind(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function allFree(base) {
  for (let port = base; port < base + BLOCK_SIZE; port++) if (!(await canBind(port))) return false;
  return true;
}

function readClaim(base) {
  try {
    return JSON.parse(readFileSync(claimFile(base), 'utf8'));
  } catch {
    return null;
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

// A claim is held while its state directory records the block, or while the process that
// wrote it is still deciding (a minute at most). One whose directory no longer records it
// (the cluster was taken down, or the directory removed by hand) is left over and may be taken.
function claimIsLive(claim, base) {
  if (!claim?.dir) return false;
  try {
    if (JSON.parse(readFileSync(join(claim.dir, 'block.json'), 'utf8')).base === base) return true;
  } catch {
    // not recorded (yet)
  }
  return Number.isInteger(claim.pid) && processAlive(claim.pid) && Date.now() - (claim.at ?? 0) < 60_000;
}

function tryClaim(base, dir) {
  mkdirSync(claimsDir(), { recursive: true, mode: 0o1777 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(claimFile(base), JSON.stringify({ dir, pid: process.pid, at: Date.now() }), { flag: 'wx' });
      return true;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const claim = readClaim(base);
    if (claim?.dir === dir) return true;
    if (claimIsLive(claim, base)) return false;
    rmSync(claimFile(base), { force: true });
  }
  return false;
}

function slotOf(dir) {
  return createHash('sha256').update(dir).digest().readUInt32BE(0) % SLOTS;
}

/**
 * The block of ports held by state directory `dir`: the one it recorded, or a free one it
 * claims now. The directory must exist; the record is `<dir>/block.json`.
 * @returns {Promise<number>} the first port of the block
 */
export async function claimPortBlock(dir) {
  const recordFile = join(dir, 'block.json');
  try {
    const { base } = JSON.parse(readFileSync(recordFile, 'utf8'));
    if (Number.isInteger(base) && readClaim(base)?.dir === dir) return base;
  } catch {
    // none recorded yet
  }
  const first = slotOf(dir);
  for (let i = 0; i < SLOTS; i++) {
    const base = AUTO_FIRST + ((first + i) % SLOTS) * BLOCK_SIZE;
    if (!tryClaim(base, dir)) continue;
    if (await allFree(base)) {
      writeFileSync(recordFile, `${JSON.stringify({ base })}\n`);
      return base;
    }
    rmSync(claimFile(base), { force: true });
  }
  throw new Error(`levee: no free block of ${BLOCK_SIZE} ports between ${AUTO_FIRST} and ${AUTO_LAST} on 127.0.0.1`);
}

/** Gives back the block `dir` holds, if any (its cluster is gone). */
export function releasePortBlock(dir) {
  try {
    const { base } = JSON.parse(readFileSync(join(dir, 'block.json'), 'utf8'));
    if (readClaim(base)?.dir === dir) rmSync(claimFile(base), { force: true });
  } catch {
    // nothing held
  }
  rmSync(join(dir, 'block.json'), { force: true });
}

/** A cluster's component ports inside a claimed block. */
export function clusterPortsInBlock(base) {
  const at = base + CLUSTER_OFFSET;
  return { apiserver: at, controllerManager: at + 1, scheduler: at + 2, kwok: at + 3, etcdClient: at + 4, etcdPeer: at + 5 };
}
