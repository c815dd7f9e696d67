/**
 * The few DER (ASN.1) encodings an X.509 certificate needs, so `levee certs` can write
 * certificates with node:crypto alone. Each function returns one complete TLV.
 */

function length(size: number): Buffer {
  if (size < 0x80) return Buffer.from([size]);
  const bytes: number[] = [];
  for (let rest = size; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
export const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
export const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** A context-specific tag: [n] EXPLICIT wraps a whole TLV, [n] IMPLICIT replaces a primitive's tag. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
export const implicit = (n: number, bytes: Buffer): Buffer => tlv(0x80 | n, bytes);

/** A non-negative INTEGER from its big-endian magnitude. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.from([value]));

export function objectIdentifier(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const digits = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) digits.unshift(0x80 | (value & 0x7f));
    bytes.push(...digits);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes: a public key, a signature. */
export function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.from([0]), bytes);
}

/** A BIT STRING of named bits, bit 0 being the first byte's top bit (key usages). */
export function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)]! |= 0x80 >> bit % 8;
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.from([unused]), bytes);
}

/** UTCTime up to 2049, GeneralizedTime after, as RFC 5280 requires; whole seconds, UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** One TLV read from `bytes` at `offset`: its tag, its contents, and where the next one starts. */
export interface ReadTlv {
  tag: number;
  contents: Buffer;
  /** The whole TLV, tag and length included. */
  whole: Buffer;
  end: number;
}

export function readTlv(bytes: Buffer, offset = 0): ReadTlv {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('truncated DER');
  let size = first;
  let start = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    size = 0;
    for (let i = 0; i < count; i++) size = size * 256 + (bytes[start + i] ?? 0);
    start += count;
  }
  const end = start + size;
  if (end > bytes.length) throw new Error('truncated DER');
  return { tag, contents: bytes.subarray(start, end), whole: bytes.subarray(offset, end), end };
}

/** The TLVs a constructed value (a SEQUENCE, a SET) holds, in order. */
export function children(contents: Buffer): ReadTlv[] {
  const items: ReadTlv[] = [];
  for (let offset = 0; offset < contents.length; ) {
    const item = readTlv(contents, offset);
    items.push(item);
    offset = item.end;
  }
  return items;
}
