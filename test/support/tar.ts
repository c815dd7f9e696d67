import { gzipSync } from 'node:zlib';

/** One member of a hand-made ustar archive. `type` is the ustar typeflag: '0' file, '5' directory, '2' symlink. */
export interface TarMember {
  name: string;
  content?: Buffer | string;
  type?: string;
  prefix?: string;
}

function writeField(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value.slice(0, length), offset, length, 'utf8');
}

function octal(value: number, digits: number): string {
  return `${value.toString(8).padStart(digits, '0')}\0`;
}

export function ustarHeader(member: TarMember, size: number): Buffer {
  const header = Buffer.alloc(512);
  writeField(header, 0, 100, member.name);
  writeField(header, 100, 8, octal(0o644, 7));
  writeField(header, 108, 8, octal(0, 7));
  writeField(header, 116, 8, octal(0, 7));
  writeField(header, 124, 12, octal(size, 11));
  writeField(header, 136, 12, octal(0, 11));
  header.fill(' ', 148, 156);
  writeField(header, 156, 1, member.type ?? '0');
  writeField(header, 257, 6, 'ustar\0');
  writeField(header, 263, 2, '00');
  if (member.prefix) writeField(header, 345, 155, member.prefix);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  writeField(header, 148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** A ustar archive: each member's header and body padded to 512 bytes, then two zero blocks. */
export function tarArchive(members: readonly TarMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const member of members) {
    const body = Buffer.from(member.content ?? '');
    blocks.push(ustarHeader(member, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function gzippedTar(members: readonly TarMember[]): Buffer {
  return gzipSync(tarArchive(members));
}
