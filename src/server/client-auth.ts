import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { ErrorCode } from '../errors.js';

export interface ClientRefusal {
  status: 401 | 403;
  code: Extract<ErrorCode, 'CLIENT_UNAUTHENTICATED' | 'CLIENT_FORBIDDEN'>;
  message: string;
}

/**
 * Who may send reviews, when levee is given a client CA (server.clientCAFile): a connection
 * whose client certificate that CA signed, and whose CN or a DNS/URI SAN is one of `allowedNames`
 * (any name when the list is empty). Anyone else is refused before the body is read: 401 without
 * a verified certificate, 403 with one for another name. Without a client CA, everyone may.
 */
export function clientAuthenticator(clientCAConfigured: boolean, allowedNames: readonly string[]): (req: IncomingMessage) => ClientRefusal | undefined {
  if (!clientCAConfigured) return () => undefined;
  const allowed = new Set(allowedNames);
  return (req) => {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) {
      const why = socket.authorizationError ? ` (${String(socket.authorizationError)})` : '';
      return { status: 401, code: 'CLIENT_UNAUTHENTICATED', message: `levee answers reviews only from a client certificate its client CA signed${why}` };
    }
    if (allowed.size === 0) return undefined;
    const names = certificateNames(socket.getPeerCertificate());
    if (names.some((name) => allowed.has(name))) return undefined;
    return { status: 403, code: 'CLIENT_FORBIDDEN', message: `client certificate ${names[0] ?? '(no name)'} is not one levee answers reviews for` };
  };
}

/** The certificate's CN(s), then its DNS and URI subject alternative names. */
export function certificateNames(certificate: PeerCertificate): string[] {
  const cn = certificate.subject?.CN;
  const commonNames = Array.isArray(cn) ? cn : cn ? [cn] : [];
  const alternatives = (certificate.subjectaltname ?? '')
    .split(/,\s*/)
    .map((entry) => /^(?:DNS|URI):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined);
  return [...commonNames, ...alternatives];
}
