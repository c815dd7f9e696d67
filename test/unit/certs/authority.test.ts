import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  CA_BUNDLE,
  CA_KEY,
  SERVING_CERT,
  SERVING_KEY,
  issueCertificates,
  namesOf,
  planRenewal,
  readCertificateData,
  type CertificateData,
  type RenewalPlan,
  type SecretReading,
  type ServingSpec,
} from '../../../src/certs/authority.js';

const spec: ServingSpec = { dnsNames: ['levee.levee-system.svc', 'levee.levee-system.svc.cluster.local'], ipAddresses: ['127.0.0.1'], caValiditySeconds: 3600, servingValiditySeconds: 900 };
const start = new Date('2026-11-30T06:00:00Z');
const at = (seconds: number): Date => new Date(start.getTime() + seconds * 1000);

const encoded = (data: Partial<CertificateData>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
const read = (data: Partial<CertificateData>): SecretReading => readCertificateData(encoded(data));
const issue = (plan: RenewalPlan, reading: SecretReading, now: Date): CertificateData => {
  assert.equal(plan.action, 'issue', JSON.stringify(plan));
  return issueCertificates(reading, plan as Extract<RenewalPlan, { action: 'issue' }>, spec, now);
};
const fresh = (now = start): CertificateData => issue(planRenewal({ state: 'empty' }, spec, now), { state: 'empty' }, now);
const certificates = (reading: SecretReading) => {
  assert.equal(reading.state, 'readable', JSON.stringify(reading));
  return (reading as Extract<SecretReading, { state: 'readable' }>).certificates;
};
const pems = (text: string): X509Certificate[] => (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));

describe('certs/authority: the self-managed CA and serving pair', () => {
  it('issues into an empty Secret a CA and a serving chain it signed, with the names asked for, that read back as in order', () => {
    assert.deepEqual(readCertificateData(undefined), { state: 'empty' });
    assert.deepEqual(readCertificateData({}), { state: 'empty' });
    assert.deepEqual(planRenewal({ state: 'empty' }, spec, start), { action: 'issue', renewCa: true, reason: 'the Secret holds no certificates yet' });
    const data = fresh();
    const [ca, ...others] = pems(data[CA_BUNDLE]);
    assert.equal(others.length, 0);
    assert.equal(ca!.ca, true);
    const [leaf, chained] = pems(data[SERVING_CERT]);
    assert.equal(leaf!.ca, false);
    assert.ok(leaf!.verify(ca!.publicKey) && leaf!.checkIssued(ca!));
    assert.equal(chained!.fingerprint256, ca!.fingerprint256, 'tls.crt carries the CA after the leaf');
    assert.deepEqual(namesOf(leaf!), ['DNS:levee.levee-system.svc', 'DNS:levee.levee-system.svc.cluster.local', 'IP:127.0.0.1']);
    assert.equal(Date.parse(leaf!.validTo), at(900).getTime());
    assert.equal(Date.parse(ca!.validTo), at(3600).getTime());
    const reading = read(data);
    assert.equal(certificates(reading).ca.fingerprint256, ca!.fingerprint256);
    assert.deepEqual(planRenewal(reading, spec, at(1)), { action: 'keep' });
  });

  it('renews the serving certificate once less than a third of its validity is left, with the same CA and bundle', () => {
    const data = fresh();
    assert.deepEqual(planRenewal(read(data), spec, at(599)), { action: 'keep' }, '301 s of 900 left');
    const plan = planRenewal(read(data), spec, at(601));
    assert.equal(plan.action, 'issue');
    assert.equal((plan as { renewCa: boolean }).renewCa, false);
    assert.match((plan as { reason: string }).reason, /serving certificate is valid until .*renewed a third of its validity ahead/);
    const renewed = issue(plan, read(data), at(601));
    assert.equal(renewed[CA_BUNDLE], data[CA_BUNDLE]);
    assert.equal(renewed[CA_KEY], data[CA_KEY]);
    assert.notEqual(renewed[SERVING_KEY], data[SERVING_KEY], 'a new key with each serving certificate');
    const [leaf] = pems(renewed[SERVING_CERT]);
    assert.ok(leaf!.verify(pems(data[CA_BUNDLE])[0]!.publicKey));
    assert.deepEqual(planRenewal(read(renewed), spec, at(602)), { action: 'keep' });
  });

  it('renews the CA a third of its validity ahead, and keeps trusting the old one in the bundle until it expires', () => {
    const data = fresh();
    const plan = planRenewal(read(data), spec, at(2401));
    assert.equal((plan as { renewCa: boolean }).renewCa, true, JSON.stringify(plan));
    const renewed = issue(plan, read(data), at(2401));
    const [newCa, oldCa, ...rest] = pems(renewed[CA_BUNDLE]);
    assert.equal(rest.length, 0);
    assert.equal(oldCa!.fingerprint256, pems(data[CA_BUNDLE])[0]!.fingerprint256);
    assert.notEqual(newCa!.fingerprint256, oldCa!.fingerprint256);
    assert.ok(pems(renewed[SERVING_CERT])[0]!.verify(newCa!.publicKey), 'the new serving certificate is signed by the new CA');
    // After the old CA's expiry, the next renewal drops it from the bundle.
    const later = planRenewal(read(renewed), spec, at(3601));
    const after = issue(later, read(renewed), at(3601));
    assert.deepEqual(pems(after[CA_BUNDLE]).map((c) => c.fingerprint256), [newCa!.fingerprint256]);
  });

  it('renews a CA that is not valid yet (a clock set back) and a serving certificate whose names changed', () => {
    const data = fresh(at(7200));
    assert.equal((planRenewal(read(data), spec, start) as { renewCa?: boolean }).renewCa, true);
    const renamed = planRenewal(read(fresh()), { ...spec, dnsNames: ['levee.policy.svc'] }, at(1));
    assert.equal((renamed as { renewCa: boolean }).renewCa, false);
    assert.match((renamed as { reason: string }).reason, /names DNS:levee\.levee-system\.svc, .* not DNS:levee\.policy\.svc/);
  });

  it('keeps a certificate for IPv6 addresses however they are spelt, instead of reissuing it at every check', () => {
    const v6 = { ...spec, ipAddresses: ['::1', 'fd00:10::a', '127.0.0.1'] };
    const data = issueCertificates({ state: 'empty' }, { action: 'issue', renewCa: true, reason: 'test' }, v6, start);
    assert.deepEqual(planRenewal(read(data), v6, at(1)), { action: 'keep' });
    assert.deepEqual(planRenewal(read(data), { ...v6, ipAddresses: ['0:0:0:0:0:0:0:1', 'FD00:10:0::A', '127.0.0.1'] }, at(1)), { action: 'keep' });
    assert.equal((planRenewal(read(data), { ...v6, ipAddresses: ['::2', 'fd00:10::a', '127.0.0.1'] }, at(1)) as { renewCa: boolean }).renewCa, false);
  });

  it('reads an unusable Secret as corrupt with the reason, never throws, and plans to replace all of it', () => {
    const good = fresh();
    const other = fresh();
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['a key missing', encoded({ ...good, [SERVING_KEY]: '' }), /tls\.key missing/],
      ['not base64 PEM', { ...encoded(good), [CA_BUNDLE]: '!!!notbase64' }, /ca\.crt holds no PEM certificate/],
      ['a truncated certificate', encoded({ ...good, [SERVING_CERT]: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }), /certificate 1 of tls\.crt cannot be parsed/],
      ['a key that is not a key', encoded({ ...good, [CA_KEY]: 'hello' }), /ca\.key is not a PEM private key/],
      ['the CA key of another CA', encoded({ ...good, [CA_KEY]: other[CA_KEY] }), /ca\.key is not the key of the CA/],
      ['the serving key of another pair', encoded({ ...good, [SERVING_KEY]: other[SERVING_KEY] }), /tls\.key is not the key of the certificate/],
      ['a serving certificate where the CA should be', encoded({ ...good, [CA_BUNDLE]: good[SERVING_CERT] }), /first certificate of ca\.crt is not a CA/],
    ];
    for (const [what, data, problem] of cases) {
      const reading = readCertificateData(data);
      assert.equal(reading.state, 'corrupt', what);
      assert.match((reading as { problem: string }).problem, problem, what);
      const plan = planRenewal(reading, spec, start);
      assert.equal((plan as { renewCa: boolean }).renewCa, true, what);
      assert.match((plan as { reason: string }).reason, /the Secret's certificates are unusable/);
      assert.equal(readCertificateData(encoded(issue(plan, reading, start))).state, 'readable', `${what}: replaced by a good set`);
    }
  });

  it('keeps trusting the CA of a corrupt Secret while it is valid, since replicas still serve what it signed', () => {
    const good = fresh();
    const reading = read({ ...good, [SERVING_KEY]: 'cut short' });
    assert.equal(reading.state, 'corrupt');
    const replaced = issue(planRenewal(reading, spec, at(1)), reading, at(1));
    const bundle = pems(replaced[CA_BUNDLE]).map((c) => c.fingerprint256);
    assert.equal(bundle.length, 2);
    assert.equal(bundle[1], pems(good[CA_BUNDLE])[0]!.fingerprint256, 'the old CA after the new one');
    assert.ok(pems(replaced[SERVING_CERT])[0]!.verify(pems(replaced[CA_BUNDLE])[0]!.publicKey));
    const unreadable = read({ ...good, [CA_BUNDLE]: 'nothing left' });
    assert.equal(pems(issue(planRenewal(unreadable, spec, at(1)), unreadable, at(1))[CA_BUNDLE]).length, 1);
  });

  it('reissues a serving certificate another CA signed', () => {
    const good = fresh();
    const other = fresh();
    const mixed = read({ ...good, [SERVING_CERT]: other[SERVING_CERT], [SERVING_KEY]: other[SERVING_KEY] });
    const plan = planRenewal(mixed, spec, at(1));
    assert.deepEqual(plan, { action: 'issue', renewCa: false, reason: 'the serving certificate is not signed by the current CA' });
    const renewed = issue(plan, mixed, at(1));
    assert.equal(renewed[CA_BUNDLE], good[CA_BUNDLE]);
    assert.deepEqual(planRenewal(read(renewed), spec, at(2)), { action: 'keep' });
  });
});
