import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { certificateNames, clientAuthenticator } from '../../../src/server/client-auth.js';

function requestFrom(authorized: boolean, certificate: Partial<PeerCertificate> = {}, authorizationError?: string): IncomingMessage {
  const socket = { authorized, authorizationError, getPeerCertificate: () => certificate };
  return { socket } as unknown as IncomingMessage;
}

describe('server/client-auth', () => {
  it('reads the CN (one or several) and the DNS and URI alternative names, not IP addresses or emails', () => {
    const certificate = { subject: { CN: ['a', 'b'] }, subjectaltname: 'DNS:c.example, IP Address:127.0.0.1, URI:spiffe://cluster/ns/x, email:x@y' } as unknown as PeerCertificate;
    assert.deepEqual(certificateNames(certificate), ['a', 'b', 'c.example', 'spiffe://cluster/ns/x']);
    assert.deepEqual(certificateNames({ subject: { CN: 'only' } } as unknown as PeerCertificate), ['only']);
    assert.deepEqual(certificateNames({} as PeerCertificate), []);
  });

  it('lets everyone through when no client CA is configured', () => {
    assert.equal(clientAuthenticator(false, ['x'])(requestFrom(false)), undefined);
  });

  it('refuses an unverified caller with 401, naming the verification error', () => {
    const refusal = clientAuthenticator(true, [])(requestFrom(false, {}, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'));
    assert.equal(refusal?.status, 401);
    assert.match(refusal?.message ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('admits any verified certificate when no names are configured, and only the named ones otherwise', () => {
    const cert = { subject: { CN: 'developer' }, subjectaltname: 'DNS:dev.example' } as unknown as PeerCertificate;
    assert.equal(clientAuthenticator(true, [])(requestFrom(true, cert)), undefined);
    assert.equal(clientAuthenticator(true, ['dev.example'])(requestFrom(true, cert)), undefined);
    const refusal = clientAuthenticator(true, ['kube-apiserver'])(requestFrom(true, cert));
    assert.equal(refusal?.status, 403);
    assert.equal(refusal?.code, 'CLIENT_FORBIDDEN');
  });
});
