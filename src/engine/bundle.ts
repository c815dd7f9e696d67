import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LeveeError } from '../errors.js';

/** The compiled policy bundle (`opa build -t wasm`): one wasm module, plus its revision for metrics. */
export interface PolicyBundle {
  path: string;
  wasm: Buffer;
  /** sha256 of the bundle file, shown in /metrics so operators can tell which policies run. */
  digest: string;
}

export function readBundle(path: string): PolicyBundle {
  let archive: Buffer;
  try {
    archive = readFileSync(path);
  } catch (err) {
    throw new LeveeError(
      'BUNDLE_UNREADABLE',
      `cannot read policy bundle ${path}: ${(err as Error).message}; run \`npm run build\` to compile the policies`,
    );
  }
  let files: Map<string, Buffer>;
  try {
    files = readTar(gunzipSync(archive));
  } catch (err) {
    throw new LeveeError('BUNDLE_INVALID', `policy bundle ${path} is not a gzipped tar archive: ${(err as Error).message}`);
  }
  const wasm = files.get('policy.wasm');
  if (!wasm) throw new LeveeError('BUNDLE_INVALID', `policy bundle ${path} holds no policy.wasm; build it with \`opa build -t wasm\``);
  return { path, wasm, digest: createHash('sha256').update(archive).digest('hex').slice(0, 16) };
}

/** Minimal ustar reader: regular files only, names without a leading `/` or `./`. */
function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = cString(header.subarray(0, 100));
    const prefix = cString(header.subarray(345, 500));
    const size = parseInt(cString(header.subarray(124, 136)).trim() || '0', 8);
    if (Number.isNaN(size)) throw new Error(`bad size field for ${name}`);
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (body.length !== size) throw new Error(`truncated entry ${name}`);
    if (type === '0' || type === '\0') {
      const full = (prefix ? `${prefix}/${name}` : name).replace(/^\.?\//, '');
      files.set(full, Buffer.from(body));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}
