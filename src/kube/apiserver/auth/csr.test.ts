import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr, parseCsr, signCsr } from './csr.js';
import { ensurePki } from './pki.js';

test('csr: made here, read by openssl and by parseCsr, certified by the CA for its own key', async () => {
  const r = createCsr({
    commonName: 'system:node:a',
    organizations: ['system:nodes'],
    hosts: ['10.1.2.3', 'a.example'],
  });
  const text = execFileSync('openssl', ['req', '-noout', '-verify', '-text'], { input: r.csrPem, encoding: 'utf8' });
  assert.match(text, /Subject: O = system:nodes, CN = system:node:a/);
  assert.match(text, /IP Address:10\.1\.2\.3, DNS:a\.example/);
  const p = parseCsr(r.csrPem);
  assert.equal(p.commonName, 'system:node:a');
  assert.deepEqual(p.organizations, ['system:nodes']);
  assert.deepEqual(p.dnsNames, ['a.example']);
  assert.deepEqual(p.ipAddresses, ['10.1.2.3']);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-csr-'));
  try {
    const pki = await ensurePki(dir);
    const x = new X509Certificate(await signCsr(pki.ca, p, { usage: 'server', seconds: 3600 }));
    assert.ok(x.checkPrivateKey(createPrivateKey(r.keyPem)));
    assert.ok(x.verify(new X509Certificate(pki.ca.certPem).publicKey));
    assert.equal(x.subjectAltName, 'DNS:a.example, IP Address:10.1.2.3');
    const hours = (Date.parse(x.validTo) - Date.now()) / 3_600_000;
    assert.ok(hours > 0.9 && hours <= 1.01, `valid ${hours} h`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('csr: an openssl request parses; tampering or junk is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-csr-'));
  try {
    const pem = execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-subj', '/O=g1/O=g2/CN=u'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const p = parseCsr(pem);
    assert.equal(p.commonName, 'u');
    assert.deepEqual(p.organizations, ['g1', 'g2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const good = createCsr({ commonName: 'x' }).csrPem;
  const der = Buffer.from(good.split('\n').slice(1, -2).join(''), 'base64');
  der[der.length - 10] ^= 1; // inside the signature
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.throws(() => parseCsr(bad), /malformed certificate request/);
  assert.throws(() => parseCsr('hello'), /no PEM block/);
});
