// DER encoding against known encodings (X.690 examples and OIDs as they appear in certificates),
// and issued certificates read back by node:crypto (names, SANs incl. IPv6, key usage, chain).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { bool, namedBits, oid, readTlv, seq, time, tlv, uint } from './der.js';
import { issueCertificate } from './certs.js';

const hex = (b: Buffer) => b.toString('hex');

test('DER primitives encode as X.690 says', () => {
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.equal(hex(oid('2.5.29.17')), '0603551d11');
  assert.equal(hex(uint(Buffer.from([0x00, 0x00, 0x7f]))), '02017f');
  assert.equal(hex(uint(Buffer.from([0x80]))), '02020080');
  assert.equal(hex(bool(true)), '0101ff');
  assert.equal(hex(namedBits([0x86])), '03020186', 'keyCertSign|cRLSign|digitalSignature: one unused bit');
  assert.equal(hex(namedBits([0xa0])), '030205a0');
  assert.equal(time(new Date('2030-01-02T03:04:05Z')).toString('latin1').slice(2), '300102030405Z');
  assert.equal(time(new Date('2051-01-02T03:04:05Z'))[0], 0x18);
  const long = tlv(0x04, Buffer.alloc(300));
  assert.equal(hex(long.subarray(0, 4)), '0482012c');
  const n = readTlv(seq(long), 0);
  assert.equal(n.end - n.contentStart, long.length);
});

test('issued certificates carry the names, SANs and chain node:crypto expects', async () => {
  const ca = await issueCertificate({ commonName: 'test-ca', usage: 'ca', days: 10 });
  const leaf = await issueCertificate(
    {
      commonName: 'srv',
      organizations: ['o1', 'o2'],
      usage: 'server',
      days: 10,
      hosts: ['10.0.0.1', 'fd00::1', 'a.example'],
    },
    ca,
  );
  const c = new X509Certificate(leaf.certPem),
    k = new X509Certificate(ca.certPem);
  assert.ok(c.verify(k.publicKey) && c.checkIssued(k));
  assert.equal(k.ca, true);
  assert.equal(c.ca, false);
  assert.match(c.subject, /O=o1\nO=o2\nCN=srv/);
  assert.equal(c.checkIP('fd00::1'), 'fd00::1');
  assert.equal(c.checkIP('10.0.0.1'), '10.0.0.1');
  assert.equal(c.checkHost('a.example'), 'a.example');
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']);
});
