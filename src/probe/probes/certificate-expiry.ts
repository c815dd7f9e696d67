import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ProbeDefinition, ProbeOutcome } from '../types.js';

const DAY_MS = 86_400_000;

/**
 * levee's own serving certificate is not about to expire: an expired one makes the API
 * server fail every call to the webhook. Skipped where the file is not mounted.
 */
export const certificateExpiry: ProbeDefinition = {
  id: 'certificate-expiry',
  summary: "levee's serving certificate is valid for at least the configured number of days",
  async run({ config, now }): Promise<ProbeOutcome> {
    const file = config.probe.certificateFile ?? config.server.tlsCertFile;
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, skipped: true, message: `no serving certificate at ${file}` };
      return { ok: false, message: `cannot read serving certificate ${file}: ${(err as Error).message}` };
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch (err) {
      return { ok: false, message: `serving certificate ${file} is not a PEM certificate: ${(err as Error).message}` };
    }
    const expires = new Date(certificate.validTo);
    const daysLeft = (expires.getTime() - now().getTime()) / DAY_MS;
    const minimum = config.probe.thresholds.certificateMinDays;
    const details = { file, notAfter: expires.toISOString(), daysLeft: Math.floor(daysLeft) };
    if (daysLeft <= 0) return { ok: false, message: `serving certificate ${file} expired on ${expires.toISOString()}`, details };
    if (daysLeft < minimum) {
      return { ok: false, message: `serving certificate ${file} expires in ${Math.floor(daysLeft)} days (${expires.toISOString()}), under the ${minimum}-day minimum`, details };
    }
    return { ok: true, message: `serving certificate ${file} valid for ${Math.floor(daysLeft)} more days`, details };
  },
};
