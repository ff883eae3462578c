import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { ensurePki, writeKubeconfig, issueClientCertificate, loadOrCreateEncryptionKey, ADMIN_USER } from './index.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), 'skiff-pki-'));
}

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

test('ensurePki creates a CA, serving and admin certificates that chain and carry the right names', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const pki = await ensurePki(dir, { hosts: ['127.0.0.1', 'localhost', '::1', 'skiff.example'] });

  const ca = new X509Certificate(pki.ca.certPem);
  assert.equal(ca.ca, true);
  assert.equal(ca.subject, 'CN=skiff-ca');
  assert.ok(Date.parse(ca.validTo) - Date.now() > 9.9 * 365 * 86_400_000, 'CA valid ~10 years');
  assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');

  const server = new X509Certificate(pki.server.certPem);
  assert.equal(server.ca, false);
  assert.ok(server.verify(ca.publicKey) && server.checkIssued(ca));
  for (const h of ['localhost', 'skiff.example', 'kubernetes.default.svc']) assert.equal(server.checkHost(h), h);
  for (const ip of ['127.0.0.1', '::1']) assert.ok(server.checkIP(ip), ip);
  assert.equal(server.checkHost('other.example'), undefined);
  assert.ok(/^[0-7]/.test(server.serialNumber), 'serial is positive');
  assert.ok(pki.server.hosts.includes('skiff.example') && pki.server.hosts.includes('::1'));

  const admin = new X509Certificate(pki.admin.certPem);
  assert.ok(admin.verify(ca.publicKey));
  assert.deepEqual(admin.subject.split('\n').sort(), ['CN=skiff-admin', 'O=system:masters']);
  assert.ok(admin.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), 'clientAuth EKU');
  assert.ok(server.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth EKU');

  // OpenSSL agrees on chain and purpose (Go's verifier checks the same extensions).
  const caFile = join(pki.dir, 'ca.crt');
  assert.match(openssl(['verify', '-CAfile', caFile, '-purpose', 'sslserver', join(pki.dir, 'server.crt')]), /OK/);
  assert.match(openssl(['verify', '-CAfile', caFile, '-purpose', 'sslclient', join(pki.dir, 'admin.crt')]), /OK/);
  assert.throws(() => openssl(['verify', '-CAfile', caFile, '-purpose', 'sslserver', join(pki.dir, 'admin.crt')]));

  // Permissions: keys and tokens 0600, directory 0700.
  for (const f of ['ca.key', 'server.key', 'admin.key', 'sa.key', 'tokens.csv']) {
    assert.equal((await fs.stat(join(pki.dir, f))).mode & 0o777, 0o600, f);
  }
  assert.equal((await fs.stat(pki.dir)).mode & 0o777, 0o700);
  const tokens = await fs.readFile(pki.tokenFile, 'utf8');
  assert.equal(tokens.trim(), `${pki.admin.token},${ADMIN_USER},${ADMIN_USER},system:masters`);
  assert.ok(pki.admin.token.length >= 40);
  assert.equal(pki.serviceAccountKey.alg, 'ES256');
  assert.deepEqual((await fs.readdir(dir)).sort(), ['pki'], 'no temp directories left behind');
});

test('a later start loads the same PKI, and adds hosts by reissuing only the serving certificate', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const first = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  const again = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  assert.equal(again.ca.certPem, first.ca.certPem);
  assert.equal(again.server.certPem, first.server.certPem, 'covered hosts: serving cert kept');
  assert.equal(again.admin.token, first.admin.token);
  assert.equal(again.serviceAccountKey.keyId, first.serviceAccountKey.keyId);

  const wider = await ensurePki(dir, { hosts: ['10.0.0.7', 'node1.example'] });
  assert.equal(wider.ca.certPem, first.ca.certPem);
  assert.equal(wider.admin.certPem, first.admin.certPem);
  assert.notEqual(wider.server.certPem, first.server.certPem);
  const cert = new X509Certificate(wider.server.certPem);
  assert.ok(cert.checkIP('10.0.0.7') && cert.checkIP('127.0.0.1'), 'new and old hosts covered');
  assert.equal(cert.checkHost('node1.example'), 'node1.example');
});

test('a broken leaf is reissued; a missing CA is refused with a clear error; old temp dirs go', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const first = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  // Simulate a crash between writing a new key and its certificate: key and cert do not match.
  await fs.copyFile(join(first.dir, 'admin.key'), join(first.dir, 'server.key'));
  await fs.mkdir(join(dir, '.pki.tmp-dead'));
  await fs.mkdir(join(dir, '.pki.tmp-busy')); // recent: may be a concurrent start's, kept
  const old = new Date(Date.now() - 3600_000);
  await fs.utimes(join(dir, '.pki.tmp-dead'), old, old);
  const second = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  assert.notEqual(second.server.certPem, first.server.certPem);
  assert.ok(
    new X509Certificate(second.server.certPem).checkPrivateKey(
      (await import('node:crypto')).createPrivateKey(second.server.keyPem),
    ),
  );
  assert.deepEqual((await fs.readdir(dir)).sort(), ['.pki.tmp-busy', 'pki']);

  await fs.rm(join(first.dir, 'ca.key'));
  await assert.rejects(
    ensurePki(dir),
    (e: any) => e.code === 'FailedPrecondition' && /no CA key/.test(e.message) && /ca\.key/.test(e.message),
  );
});

test('bad hosts are refused naming the field', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await assert.rejects(
    ensurePki(dir, { hosts: ['bad host/x'] }),
    (e: any) => e.code === 'InvalidArgument' && e.field === 'hosts',
  );
  assert.deepEqual(await fs.readdir(dir), [], 'nothing written');
});

test('writeKubeconfig writes a 0600 kubeconfig with inline CA and client cert, or a token', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const pki = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  const path = join(dir, 'kubeconfig.yaml');
  await writeKubeconfig(path, { server: 'https://127.0.0.1:6443', pki });
  assert.equal((await fs.stat(path)).mode & 0o777, 0o600);
  const cfg = parse(await fs.readFile(path, 'utf8'));
  assert.equal(cfg.apiVersion, 'v1');
  assert.equal(cfg.kind, 'Config');
  assert.equal(cfg['current-context'], 'skiff');
  assert.deepEqual(cfg.contexts, [{ name: 'skiff', context: { cluster: 'skiff', user: 'admin' } }]);
  assert.equal(cfg.clusters[0].cluster.server, 'https://127.0.0.1:6443');
  assert.equal(Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), pki.ca.certPem);
  assert.equal(Buffer.from(cfg.users[0].user['client-certificate-data'], 'base64').toString(), pki.admin.certPem);
  assert.equal(Buffer.from(cfg.users[0].user['client-key-data'], 'base64').toString(), pki.admin.keyPem);
  assert.equal(cfg.clusters[0].cluster['insecure-skip-tls-verify'], undefined);

  await writeKubeconfig(path, { server: 'https://127.0.0.1:6443', pki, useToken: true, user: 'tok' });
  const tok = parse(await fs.readFile(path, 'utf8'));
  assert.deepEqual(tok.users, [{ name: 'tok', user: { token: pki.admin.token } }]);
  await assert.rejects(writeKubeconfig(path, { server: 'not a url', pki }), (e: any) => e.field === 'server');
});

test('issueClientCertificate signs other identities with the cluster CA', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const pki = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  const node = await issueClientCertificate(pki, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  const cert = new X509Certificate(node.certPem);
  assert.ok(cert.verify(new X509Certificate(pki.ca.certPem).publicKey));
  assert.match(cert.subject, /CN=system:node:n1/);
  await assert.rejects(issueClientCertificate(pki, { commonName: '' }), (e: any) => e.field === 'commonName');
});

test('a pki directory without a CA certificate (encryption key made first, or a crashed first start) is completed', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const key = await loadOrCreateEncryptionKey(dir);
  const pki = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  assert.ok(new X509Certificate(pki.server.certPem).verify(new X509Certificate(pki.ca.certPem).publicKey));
  assert.deepEqual(await loadOrCreateEncryptionKey(dir), key, 'the encryption key survives');
  assert.equal((await fs.stat(pki.dir)).mode & 0o777, 0o700);
  // Crash after some files moved in but before ca.crt: the next start redoes it, keeping tokens.
  await fs.rm(join(pki.dir, 'ca.crt'));
  const again = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  assert.notEqual(again.ca.certPem, pki.ca.certPem);
  assert.equal(again.admin.token, pki.admin.token);
  assert.equal(again.serviceAccountKey.keyId, pki.serviceAccountKey.keyId);
  assert.deepEqual((await fs.readdir(dir)).sort(), ['pki']);
});

test('concurrent first starts agree on one PKI', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const all = await Promise.all([1, 2, 3].map(() => ensurePki(dir, { hosts: ['127.0.0.1'] })));
  for (const p of all) {
    assert.equal(p.ca.certPem, all[0].ca.certPem);
    assert.equal(p.admin.token, all[0].admin.token);
  }
  assert.deepEqual(await fs.readdir(dir), ['pki']);
});
