// Claims about a running `skiff server` (SQLite) that only the real thing shows (issue 11):
// a non-admin is refused — kubectl on a kubeconfig holding nothing but a ServiceAccount token
// (a client certificate would authenticate too) may get pods its Role allows, is Forbidden to
// list Secrets, and a bogus token is Unauthorized; a Secret's value is not in the datastore
// files; the namespace lifecycle refuses deleting system namespaces and creating in a
// terminating one, in upstream's words.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDefaultServiceAccount, startSkiffServer, suffix, type SkiffServer } from './kubectl-harness.js';
import { auth } from '../../src/kube/apiserver/index.js';

const ok = (r: { code: number; stdout: string; stderr: string }, what: string) => {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
};

describe('skiff server: authorization, encryption at rest, namespace lifecycle (kubectl)', { concurrency: 1 }, () => {
  let s: SkiffServer;
  let k: SkiffServer['kubectl'];
  const ns = `auth-${suffix()}`;
  before(async () => {
    s = await startSkiffServer('sqlite');
    k = s.kubectl.bind(s);
    ok(await k(['create', 'namespace', ns]), 'create namespace');
    await ensureDefaultServiceAccount(s, ns);
  });
  after(async () => {
    await s?.stop();
  });

  /** A kubeconfig with the cluster's CA and only a bearer token: no client certificate. */
  const tokenKubeconfig = (name: string, token: string) => {
    const path = join(s.dir, `${name}.kubeconfig`);
    const ca = Buffer.from(s.creds.ca).toString('base64');
    writeFileSync(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${s.url}\n    certificate-authority-data: ${ca}\nusers:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: ${ns}}\ncurrent-context: x\n`,
      { mode: 0o600 },
    );
    return (args: string[]) => k(['--kubeconfig', path, ...args]);
  };

  it('refuses a non-admin: a ServiceAccount token may get pods (its Role), not list them or Secrets; a bogus token is 401', async () => {
    ok(await k(['-n', ns, 'create', 'serviceaccount', 'reader']), 'create sa');
    ok(await k(['-n', ns, 'create', 'role', 'pod-getter', '--verb=get', '--resource=pods']), 'create role');
    ok(
      await k(['-n', ns, 'create', 'rolebinding', 'reader-gets', '--role=pod-getter', `--serviceaccount=${ns}:reader`]),
      'create rolebinding',
    );
    ok(await k(['-n', ns, 'run', 'p', '--image=busybox', '--restart=Never']), 'run pod');
    ok(await k(['-n', ns, 'create', 'secret', 'generic', 'hidden', '--from-literal=k=v']), 'create secret');
    const token = ok(await k(['-n', ns, 'create', 'token', 'reader']), 'create token').trim();
    // (the harness passes the admin kubeconfig first; a later --kubeconfig wins)
    const sa = tokenKubeconfig('reader', token);
    const who = ok(await sa(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']), 'whoami');
    assert.equal(who, `system:serviceaccount:${ns}:reader`, 'the token alone authenticated the request');
    assert.equal(ok(await sa(['get', 'pod', 'p', '-o', 'name']), 'get pod').trim(), 'pod/p');
    const list = await sa(['get', 'pods']);
    assert.notEqual(list.code, 0);
    assert.match(
      list.stderr,
      new RegExp(
        `Error from server \\(Forbidden\\): pods is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "pods" in API group "" in the namespace "${ns}"`,
      ),
    );
    const secrets = await sa(['get', 'secrets']);
    assert.notEqual(secrets.code, 0);
    assert.match(
      secrets.stderr,
      new RegExp(
        `Error from server \\(Forbidden\\): secrets is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "secrets" in API group "" in the namespace "${ns}"`,
      ),
    );
    const del = await sa(['delete', 'pod', 'p']);
    assert.match(
      del.stderr,
      /Error from server \(Forbidden\): pods "p" is forbidden: .* cannot delete resource "pods"/,
    );
    const bogus = tokenKubeconfig('bogus', `${token.slice(0, -4)}AAAA`);
    const r = await bogus(['get', 'pod', 'p']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)/);
    const junk = tokenKubeconfig('junk', 'not-a-token');
    assert.match((await junk(['get', 'pod', 'p'])).stderr, /You must be logged in to the server \(Unauthorized\)/);
  });

  it('issues a user client certificate once `kubectl certificate approve` approved it; it authenticates as the user', async () => {
    const user = `alice-${ns}`;
    const csrYaml = (name: string, req: string, usages: string[]) =>
      `apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: ${name}}\nspec:\n  request: ${Buffer.from(req).toString('base64')}\n  signerName: kubernetes.io/kube-apiserver-client\n  expirationSeconds: 3600\n  usages: [${usages.join(', ')}]\n`;
    const { csrPem, keyPem } = auth.createCsr({ commonName: user, organizations: ['dev'] });
    ok(await k(['apply', '-f', '-'], { input: csrYaml(user, csrPem, ['client auth']) }), 'create csr');
    const bad = `${user}-bad`;
    ok(
      await k(['apply', '-f', '-'], { input: csrYaml(bad, csrPem, ['client auth', 'server auth']) }),
      'create bad csr',
    );
    await new Promise((r) => setTimeout(r, 300));
    const pending = ok(await k(['get', 'csr', user, '-o', 'jsonpath={.status}']), 'get csr');
    assert.ok(!pending.includes('certificate'), `not signed before approval: ${pending}`);
    ok(await k(['certificate', 'approve', user, bad]), 'approve');
    let cert = '';
    for (let i = 0; i < 300 && !cert; i++) {
      cert = ok(await k(['get', 'csr', user, '-o', 'jsonpath={.status.certificate}']), 'get csr');
      if (!cert) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(cert, 'the approved request was signed');
    assert.match(ok(await k(['get', 'csr', user]), 'get csr'), /Approved,Issued/);
    // (the harness passes the admin kubeconfig first; a later --kubeconfig wins)
    const path = join(s.dir, `${user}.kubeconfig`);
    const b64 = (x: string) => Buffer.from(x).toString('base64');
    writeFileSync(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${s.url}\n    certificate-authority-data: ${b64(s.creds.ca)}\nusers:\n- name: u\n  user:\n    client-certificate-data: ${cert}\n    client-key-data: ${b64(keyPem)}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
      { mode: 0o600 },
    );
    const who = JSON.parse(ok(await k(['--kubeconfig', path, 'auth', 'whoami', '-o', 'json']), 'whoami'));
    assert.equal(who.status.userInfo.username, user);
    assert.ok(who.status.userInfo.groups.includes('dev'));
    // A request with a usage the signer does not allow is marked Failed, never signed.
    let failed = '';
    for (let i = 0; i < 300 && !failed; i++) {
      failed = ok(
        await k(['get', 'csr', bad, '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].message}']),
        'get',
      );
      if (!failed) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(failed, 'invalid usage for client certificate: server auth');
    assert.equal(ok(await k(['get', 'csr', bad, '-o', 'jsonpath={.status.certificate}']), 'get'), '');
    ok(await k(['delete', 'csr', user, bad]), 'delete csrs');
  });

  it("keeps a Secret's value out of the datastore files of the running server (and a ConfigMap's in them)", async () => {
    const secretValue = `s3cr3t-${suffix()}${suffix()}`;
    const plainValue = `plain-${suffix()}${suffix()}`;
    ok(
      await k(['-n', ns, 'create', 'secret', 'generic', 'at-rest', `--from-literal=password=${secretValue}`]),
      'secret',
    );
    ok(await k(['-n', ns, 'create', 'configmap', 'control', `--from-literal=v=${plainValue}`]), 'configmap');
    // The database and its WAL, as the running server left them (acknowledged writes are on disk).
    const files = readdirSync(s.dir).filter((f) => f.startsWith('state.db'));
    assert.ok(files.includes('state.db'), files.join(','));
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(s.dir, f))));
    assert.ok(bytes.includes(plainValue), 'control: the ConfigMap value is in the datastore files');
    assert.ok(!bytes.includes(secretValue), 'the Secret value is in the datastore in clear text');
    assert.ok(!bytes.includes(Buffer.from(secretValue).toString('base64')), 'the Secret value is in base64');
    assert.ok(bytes.includes('k8s:enc:aesgcm:v1:skiff:'), 'encrypted values carry the provider prefix');
    // ... and kubectl still reads it back.
    const got = ok(await k(['-n', ns, 'get', 'secret', 'at-rest', '-o', 'jsonpath={.data.password}']), 'get');
    assert.equal(Buffer.from(got, 'base64').toString(), secretValue);
  });

  it('refuses deleting default, kube-system and kube-public, in upstream words', async () => {
    for (const name of ['kube-system', 'default', 'kube-public']) {
      const r = await k(['delete', 'namespace', name, '--wait=false']);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `Error from server \\(Forbidden\\): namespaces "${name}" is forbidden: this namespace may not be deleted`,
        ),
      );
      assert.match(ok(await k(['get', 'namespace', name, '-o', 'jsonpath={.status.phase}']), 'get ns'), /^Active$/);
    }
  });

  it('admission on a running server: the token volume, PodSecurity enforce and warn, as kubectl shows them', async () => {
    const tv = ok(await k(['-n', ns, 'get', 'pod', 'p', '-o', 'json']), 'get pod');
    const p = JSON.parse(tv);
    const vol = p.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol?.projected?.sources?.[0]?.serviceAccountToken?.expirationSeconds === 3607, tv);
    assert.equal(p.spec.containers[0].volumeMounts[0].mountPath, '/var/run/secrets/kubernetes.io/serviceaccount');
    assert.equal(p.spec.priority, 0);
    const strict = `pss-${suffix()}`;
    ok(await k(['create', 'namespace', strict]), 'create ns');
    await ensureDefaultServiceAccount(s, strict);
    ok(await k(['label', 'namespace', strict, 'pod-security.kubernetes.io/enforce=restricted']), 'label');
    const refused = await k(['-n', strict, 'run', 'web', '--image=busybox', '--restart=Never']);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /Error from server \(Forbidden\): pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "web" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities/,
    );
    ok(
      await k([
        'label',
        'namespace',
        strict,
        '--overwrite',
        'pod-security.kubernetes.io/enforce=baseline',
        'pod-security.kubernetes.io/warn=restricted',
      ]),
      'relabel',
    );
    const warned = await k(['-n', strict, 'run', 'web', '--image=busybox', '--restart=Never']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /^Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/m,
    );
  });

  it('refuses creating in a terminating namespace, in upstream words', async () => {
    const term = `term-${suffix()}`;
    ok(await k(['create', 'namespace', term]), 'create ns');
    // A finalizer on an object keeps the namespace terminating while we try.
    ok(
      await k(['-n', term, 'create', '-f', '-'], {
        input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n`,
      }),
      'held cm',
    );
    ok(await k(['delete', 'namespace', term, '--wait=false']), 'delete ns');
    const r = await k(['-n', term, 'create', 'configmap', 'late']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(
        `configmaps "late" is forbidden: unable to create new content in namespace ${term} because it is being terminated`,
      ),
    );
    ok(
      await k(['-n', term, 'patch', 'cm', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']),
      'release',
    );
  });
});
