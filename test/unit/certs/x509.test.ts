import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import * as der from '../../../src/certs/der.js';
import { ipBytes, issueCertificate } from '../../../src/certs/x509.js';

describe('certs/der and certs/x509', () => {
  it('encodes lengths in short and long form, and integers without a sign bit', () => {
    assert.deepEqual(der.octetString(Buffer.alloc(3)).subarray(0, 2), Buffer.from([0x04, 3]));
    assert.deepEqual(der.octetString(Buffer.alloc(200)).subarray(0, 3), Buffer.from([0x04, 0x81, 200]));
    assert.deepEqual(der.octetString(Buffer.alloc(300)).subarray(0, 4), Buffer.from([0x04, 0x82, 0x01, 0x2c]));
    assert.deepEqual(der.unsignedInteger(Buffer.from([0x80])), Buffer.from([0x02, 2, 0x00, 0x80]));
    assert.deepEqual(der.unsignedInteger(Buffer.from([0, 0, 5])), Buffer.from([0x02, 1, 5]));
  });

  it('encodes object identifiers, named bits and both time forms as RFC 5280 wants them', () => {
    assert.deepEqual(der.objectIdentifier('1.2.840.10045.4.3.2'), Buffer.from('06082a8648ce3d040302', 'hex'));
    assert.deepEqual(der.namedBits([0, 2]), Buffer.from([0x03, 2, 5, 0xa0]));
    assert.deepEqual(der.namedBits([0, 5, 6]), Buffer.from([0x03, 2, 1, 0x86]));
    assert.equal(der.time(new Date('2026-11-29T10:20:30.456Z')).subarray(2).toString(), '261129102030Z');
    assert.equal(der.time(new Date('2051-01-02T03:04:05Z')).subarray(2).toString(), '20510102030405Z');
    assert.equal(der.time(new Date('2051-01-02T03:04:05Z'))[0], 0x18);
  });

  it('turns IPv4 and IPv6 addresses into their 4 and 16 bytes', () => {
    assert.deepEqual(ipBytes('10.96.0.1'), Buffer.from([10, 96, 0, 1]));
    assert.equal(ipBytes('::1').toString('hex'), '00000000000000000000000000000001');
    assert.equal(ipBytes('fd00:1::ab').toString('hex'), 'fd0000010000000000000000000000ab');
    assert.equal(ipBytes('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
    assert.throws(() => ipBytes('not-an-ip'), /not an IP address/);
  });

  it('issues certificates that node:crypto parses back with every field asked for, valid past 2049', () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2060-01-01T00:00:00Z');
    const ca = issueCertificate({ commonName: 'test CA', role: 'ca', publicKey: keys.publicKey, selfSigningKey: keys.privateKey, notBefore, notAfter });
    const clientKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const client = issueCertificate({
      commonName: 'alice',
      organizations: ['oncall', 'developers'],
      role: 'client',
      publicKey: clientKeys.publicKey,
      issuer: { name: ca.name, privateKey: keys.privateKey, keyId: ca.keyId },
      notBefore,
      notAfter,
      dnsNames: ['alice.example'],
    });
    const parsedCa = new X509Certificate(ca.pem);
    const parsed = new X509Certificate(client.pem);
    assert.equal(parsed.verify(parsedCa.publicKey), true);
    assert.equal(parsed.subject, 'O=oncall\nO=developers\nCN=alice');
    assert.equal(parsed.issuer, 'CN=test CA');
    assert.equal(new Date(parsed.validTo).toISOString(), notAfter.toISOString());
    assert.equal(parsed.subjectAltName, 'DNS:alice.example');
    assert.throws(() => issueCertificate({ commonName: 'x', role: 'server', publicKey: keys.publicKey, notBefore, notAfter }), /issuer or a self-signing key/);
  });
});
