// Joining (in process, no engine): the server's join token, TLS bootstrap by CSR — the CA checked
// against the token's hash, the client certificate asked with the token and auto-approved for the
// bootstrap group, the serving certificate asked by the node itself — renewal with the node's own
// identity, reuse across restarts, and what the approver refuses.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import { auth } from '../../src/kube/apiserver/index.js';
import { NodeCredentials, parseNodeToken, type Csr } from '../../src/kube/certificates/index.js';

let srv: RunningServer, admin: KubeClient, dir: string;
const log = createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' });
const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-join-'));
  srv = await startServer({
    dataDir: join(dir, 'server'),
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    controllers: false,
    scheduler: false,
    nodeCertSeconds: 3600,
    log,
  });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  admin = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
});

after(async () => {
  admin?.close();
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('the server writes its join token (0600) and keeps it across restarts', () => {
  const file = join(dir, 'server', 'node-token');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8').trim();
  assert.equal(text, srv.nodeToken);
  const t = parseNodeToken(text);
  assert.equal(t.user, 'node');
  assert.match(text, /^K10[0-9a-f]{64}::node:/);
  assert.throws(() => parseNodeToken('K10abc::x'), /expected K10<sha256 of the CA>/);
});

it('bootstrap: client and serving certificates by CSR, approved and signed by the server; reused on restart; renewed as the node', async () => {
  const o = {
    server: srv.url,
    token: srv.nodeToken,
    nodeName: 'n1',
    servingHosts: ['10.9.8.7', 'n1'],
    dir: join(dir, 'n1'),
    log,
  };
  const creds = await NodeCredentials.obtain(o);
  try {
    const client = new X509Certificate(creds.client.certPem);
    assert.equal(client.subject, 'O=system:nodes\nCN=system:node:n1');
    assert.ok(client.verify(new X509Certificate(creds.ca).publicKey));
    const hours = (Date.parse(client.validTo) - Date.now()) / 3_600_000;
    assert.ok(hours > 0.9 && hours <= 1.01, `the server's --node-cert-seconds caps validity (${hours} h)`);
    assert.equal(new X509Certificate(creds.serving.certPem).subjectAltName, 'DNS:n1, IP Address:10.9.8.7');
    // The CSRs: who asked (set by the server), auto-approved, issued.
    const list = await admin.request<{ items: Csr[] }>('GET', CSRS);
    assert.equal(list.items.length, 2);
    const boot = list.items.find((c) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet')!;
    assert.equal(boot.spec.username, 'system:bootstrap:node');
    assert.ok(boot.spec.groups?.includes('system:bootstrappers'));
    assert.deepEqual(
      boot.status?.conditions?.map((c) => [c.type, c.status, c.reason]),
      [['Approved', 'True', 'AutoApproved']],
    );
    const serving = list.items.find((c) => c.spec.signerName === 'kubernetes.io/kubelet-serving')!;
    assert.equal(serving.spec.username, 'system:node:n1');
    // The node's identity works against the API (system:node may read nodes).
    const nodeClient = new KubeClient({
      server: srv.url,
      ca: creds.ca,
      cert: creds.client.certPem,
      key: creds.client.keyPem,
    });
    try {
      await nodeClient.request('GET', '/api/v1/nodes');
      // ... and the bootstrap token can do nothing else.
      const boot = new KubeClient({ server: srv.url, ca: creds.ca, token: parseNodeToken(srv.nodeToken).secret });
      await assert.rejects(boot.request('GET', '/api/v1/secrets'), /forbidden/i);
      boot.close();
    } finally {
      nodeClient.close();
    }
    // Renewal at 70-90 % of the lifetime; asked now, it goes through as the node itself.
    const x = new X509Certificate(creds.client.certPem);
    const from = Date.parse(x.validFrom);
    const life = Date.parse(x.validTo) - from;
    const at = creds.renewAt('client');
    assert.ok(at >= from + 0.7 * life && at <= from + 0.9 * life);
    const old = creds.client.certPem;
    let rotated = '';
    creds.onRotate((kind, p) => (rotated = `${kind}:${p.certPem === creds.client.certPem}`));
    await creds.renewNow('client');
    assert.notEqual(creds.client.certPem, old);
    assert.equal(rotated, 'client:true');
    const after = await admin.request<{ items: Csr[] }>('GET', CSRS);
    assert.equal(after.items.length, 3);
    assert.ok(after.items.some((c) => c.spec.username === 'system:node:n1' && c.spec.signerName.endsWith('-kubelet')));
    assert.equal(readFileSync(join(dir, 'n1', 'client.crt'), 'utf8'), creds.client.certPem);
  } finally {
    creds.stop();
  }
  // A restart reuses what is on disk: no new request.
  const again = await NodeCredentials.obtain(o);
  again.stop();
  assert.equal((await admin.request<{ items: Csr[] }>('GET', CSRS)).items.length, 3);
  // The node's address moved: a serving certificate naming the new one is asked for at once
  // (an address the current one names asks nothing); listeners get it, as for a renewal.
  const moved = await NodeCredentials.obtain(o);
  try {
    const told: string[] = [];
    moved.onRotate((kind, p) => told.push(`${kind}:${p.certPem === moved.serving.certPem}`));
    await moved.setServingHosts(['10.9.8.7', 'n1']);
    assert.equal((await admin.request<{ items: Csr[] }>('GET', CSRS)).items.length, 3);
    await moved.setServingHosts(['10.9.8.70', 'n1']);
    assert.equal(new X509Certificate(moved.serving.certPem).subjectAltName, 'DNS:n1, IP Address:10.9.8.70');
    assert.deepEqual(told, ['serving:true']);
    assert.equal((await admin.request<{ items: Csr[] }>('GET', CSRS)).items.length, 4);
    assert.equal(readFileSync(join(dir, 'n1', 'serving.crt'), 'utf8'), moved.serving.certPem);
  } finally {
    moved.stop();
  }
});

it('a wrong token fails before anything is sent; the approver refuses other subjects', async () => {
  const t = parseNodeToken(srv.nodeToken);
  const wrongHash = `K10${'0'.repeat(64)}::node:${t.secret}`;
  await assert.rejects(
    NodeCredentials.obtain({
      server: srv.url,
      token: wrongHash,
      nodeName: 'n2',
      servingHosts: ['n2'],
      dir: join(dir, 'n2'),
      retryMs: 1500,
      log,
    }),
    /no CA matching the token's hash/,
  );
  // A wrong secret is refused (401) and retried as a server that has just started refuses one
  // (kubelet and k3s's agent retry their bootstrap too): 2 minutes by default, 2 s here.
  const wrongSecret = `K10${t.caHash}::node:${'x'.repeat(43)}`;
  const t0 = Date.now();
  await assert.rejects(
    NodeCredentials.obtain({
      server: srv.url,
      token: wrongSecret,
      nodeName: 'n3',
      servingHosts: ['n3'],
      dir: join(dir, 'n3'),
      retryMs: 2000,
    }),
    /Unauthorized|unauthorized/,
  );
  assert.ok(Date.now() - t0 >= 1000, 'the 401 was retried');
  // The bootstrap identity asking for a masters certificate: created, never approved.
  const ca = readFileSync(join(dir, 'n1', 'ca.crt'), 'utf8');
  const boot = new KubeClient({ server: srv.url, ca, token: t.secret });
  const { csrPem } = auth.createCsr({ commonName: 'system:node:evil', organizations: ['system:masters'] });
  await boot.request('POST', CSRS, {
    body: {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'evil' },
      spec: {
        request: Buffer.from(csrPem).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
        username: 'system:node:evil',
        groups: ['system:masters'],
      },
    },
  });
  await new Promise((r) => setTimeout(r, 1000));
  const evil = await admin.request<Csr>('GET', `${CSRS}/evil`);
  assert.equal(evil.spec.username, 'system:bootstrap:node', 'the server sets who asked');
  assert.deepEqual(evil.status?.conditions ?? [], []);
  assert.equal(evil.status?.certificate, undefined);
  // The bootstrap identity may not approve it itself.
  await assert.rejects(
    boot.request('PUT', `${CSRS}/evil/approval`, {
      body: { ...evil, status: { conditions: [{ type: 'Approved', status: 'True' }] } },
    }),
    /forbidden/i,
  );
  boot.close();
});
