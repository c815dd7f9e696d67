import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A DNS server on 127.0.0.1 for tests: answers A queries for the names it knows, the SOA of
 * the zone it serves (a cluster DNS's `cluster.local`; none for a resolver that is not one),
 * NXDOMAIN for the others, or nothing at all when told to stay silent. Enough of RFC 1035 for
 * Node's resolver (one question, one answer).
 */
export interface TestDnsServer {
  port: number;
  queries: string[];
  silent: boolean;
  close(): Promise<void>;
}

export async function startDnsServer(records: Record<string, string>, zone?: string): Promise<TestDnsServer> {
  const socket: Socket = createSocket('udp4');
  const server: TestDnsServer = { port: 0, queries: [], silent: false, close: () => new Promise((resolve) => socket.close(() => resolve())) };
  socket.on('message', (message, remote) => {
    const { name, end } = questionOf(message);
    server.queries.push(name);
    if (server.silent) return;
    const question = message.subarray(12, end + 4);
    const address = records[name.toLowerCase()];
    const type = message.readUInt16BE(end);
    const soa = zone !== undefined && type === 6 && name.toLowerCase() === zone;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(message.readUInt16BE(0), 0);
    // Response, recursion desired and available; NXDOMAIN when the name is unknown.
    header.writeUInt16BE(address || soa ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    const answers = address && type === 1 ? [answerA(address)] : soa ? [answerSoa(zone)] : [];
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  server.port = (socket.address() as AddressInfo).port;
  return server;
}

function questionOf(message: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let offset = 12;
  while (message[offset]! > 0) {
    const length = message[offset]!;
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += length + 1;
  }
  return { name: labels.join('.'), end: offset + 1 };
}

function answerA(address: string): Buffer {
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(1, 2); // A
  answer.writeUInt16BE(1, 4); // IN
  answer.writeUInt32BE(30, 6); // TTL
  answer.writeUInt16BE(4, 10);
  address.split('.').forEach((octet, index) => answer.writeUInt8(Number(octet), 12 + index));
  return answer;
}

function encodeName(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')])), Buffer.from([0])]);
}

function answerSoa(zone: string): Buffer {
  const rdata = Buffer.concat([encodeName(`ns.dns.${zone}`), encodeName(`hostmaster.${zone}`), Buffer.alloc(20)]);
  rdata.writeUInt32BE(1, rdata.length - 20); // serial
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(6, 2); // SOA
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(30, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}
