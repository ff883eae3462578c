import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  ensurePki,
  createAuthenticator,
  serverTlsOptions,
  signServiceAccountToken,
  signLegacyServiceAccountToken,
  issueClientCertificate,
  addStaticToken,
  type Pki,
  type UserInfo,
  type Authenticator,
} from './index.js';

let dir: string;
let pki: Pki;
let otherPki: Pki;
let server: https.Server;
let port: number;
let authenticate: Authenticator;
const rejects: string[] = [];
const serviceAccounts = new Map<string, string>([['default/builder', 'uid-builder']]);
const secrets = new Map<string, string | undefined>();

before(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skiff-authn-'));
  [pki, otherPki] = await Promise.all([
    ensurePki(join(dir, 'a'), { hosts: ['127.0.0.1'] }),
    ensurePki(join(dir, 'b'), { hosts: ['127.0.0.1'] }),
  ]);
  authenticate = createAuthenticator({
    pki,
    lookupServiceAccount: async (ns, name) => {
      const uid = serviceAccounts.get(`${ns}/${name}`);
      return uid ? { uid } : undefined;
    },
    lookupSecret: async (ns, name) =>
      secrets.has(`${ns}/${name}`) ? { token: secrets.get(`${ns}/${name}`) } : undefined,
    onReject: (r) => rejects.push(r),
  });
  server = https.createServer(serverTlsOptions(pki), (req, res) => {
    authenticate(req).then(
      (user) => {
        res.writeHead(user ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(user ?? null));
      },
      (e) => {
        res.writeHead(500);
        res.end(String(e));
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

async function whoami(
  opts: { cert?: { certPem: string; keyPem: string }; headers?: Record<string, string> } = {},
): Promise<UserInfo | null> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: pki.ca.certPem,
        agent: false,
        cert: opts.cert?.certPem,
        key: opts.cert?.keyPem,
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('client certificate signed by the cluster CA: CN is the user, O the groups', async () => {
  // The credential id is the certificate's SHA-256, as upstream's x509 authenticator names it.
  const id = (pem: string) => ({
    'authentication.kubernetes.io/credential-id': [
      `X509SHA256=${createHash('sha256').update(new X509Certificate(pem).raw).digest('hex')}`,
    ],
  });
  assert.deepEqual(await whoami({ cert: pki.admin }), {
    username: 'skiff-admin',
    groups: ['system:masters', 'system:authenticated'],
    extra: id(pki.admin.certPem),
  });
  const node = await issueClientCertificate(pki, {
    commonName: 'system:node:n1',
    organizations: ['system:nodes', 'extra'],
  });
  assert.deepEqual(await whoami({ cert: node }), {
    username: 'system:node:n1',
    groups: ['system:nodes', 'extra', 'system:authenticated'],
    extra: id(node.certPem),
  });
});

test('certificates from another CA, or without clientAuth usage, are refused', async () => {
  rejects.length = 0;
  assert.equal(await whoami({ cert: otherPki.admin }), null);
  assert.match(rejects.join(), /client certificate refused/);
  rejects.length = 0;
  assert.equal(await whoami({ cert: pki.server }), null, 'the serving certificate is not a client certificate');
  assert.match(rejects.join(), /client certificate|not valid for client/);
  // A refused certificate does not stop a valid token from counting.
  assert.equal(
    (await whoami({ cert: otherPki.admin, headers: { authorization: `Bearer ${pki.admin.token}` } }))?.username,
    'skiff-admin',
  );
});

test('static bearer tokens from the token file (also through the WebSocket subprotocol)', async () => {
  assert.deepEqual(await whoami({ headers: { authorization: `Bearer ${pki.admin.token}` } }), {
    username: 'skiff-admin',
    uid: 'skiff-admin',
    groups: ['system:masters', 'system:authenticated'],
  });
  const wsProto = `base64url.bearer.authorization.k8s.io.${Buffer.from(pki.admin.token).toString('base64url')}`;
  assert.equal(
    (await whoami({ headers: { 'sec-websocket-protocol': `v5.channel.k8s.io, ${wsProto}` } }))?.username,
    'skiff-admin',
  );
  rejects.length = 0;
  assert.equal(await whoami({ headers: { authorization: 'Bearer not-a-token' } }), null);
  assert.equal(await whoami({ headers: { authorization: `Basic ${pki.admin.token}` } }), null);
  assert.deepEqual(rejects, ['invalid bearer token', 'malformed Authorization header']);
  // Tokens added later are picked up once the file changes (checked at most once a second).
  const token = await addStaticToken(pki.tokenFile, { user: 'alice', uid: 'u-alice', groups: ['devs'] });
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(await whoami({ headers: { authorization: `Bearer ${token}` } }), {
    username: 'alice',
    uid: 'u-alice',
    groups: ['devs', 'system:authenticated'],
  });
  // A broken edit keeps the previous tokens in force and is reported.
  const good = await fs.readFile(pki.tokenFile, 'utf8');
  await fs.writeFile(pki.tokenFile, good + 'broken,"unterminated\n');
  await new Promise((r) => setTimeout(r, 1100));
  rejects.length = 0;
  assert.equal((await whoami({ headers: { authorization: `Bearer ${token}` } }))?.username, 'alice');
  assert.match(rejects.join(), /ignoring unreadable token file: .*unterminated quote/);
  await fs.writeFile(pki.tokenFile, good);
});

test('anonymous requests are not authenticated', async () => {
  assert.equal(await whoami(), null);
});

test('bound service-account tokens: accepted; expired, wrong audience, foreign key, deleted SA refused', async () => {
  const { token, expirationTimestamp } = await signServiceAccountToken(pki.serviceAccountKey, {
    namespace: 'default',
    name: 'builder',
    uid: 'uid-builder',
    boundObject: { kind: 'Pod', name: 'p1', uid: 'pod-uid' },
  });
  assert.ok(Date.parse(expirationTimestamp) - Date.now() > 3500_000);
  const user = await whoami({ headers: { authorization: `Bearer ${token}` } });
  assert.equal(user?.username, 'system:serviceaccount:default:builder');
  assert.equal(user?.uid, 'uid-builder');
  assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
  assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-name'], ['p1']);
  assert.match(user?.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^JTI=/);

  const cases: [string, Promise<{ token: string }>, RegExp][] = [
    [
      'expired',
      signServiceAccountToken(pki.serviceAccountKey, {
        namespace: 'default',
        name: 'builder',
        uid: 'uid-builder',
        now: new Date(Date.now() - 7200_000),
      }),
      /expired/,
    ],
    [
      'wrong audience',
      signServiceAccountToken(pki.serviceAccountKey, {
        namespace: 'default',
        name: 'builder',
        uid: 'uid-builder',
        audiences: ['vault'],
      }),
      /aud/,
    ],
    [
      'wrong issuer',
      signServiceAccountToken(pki.serviceAccountKey, {
        namespace: 'default',
        name: 'builder',
        uid: 'uid-builder',
        issuer: 'https://evil',
      }),
      /iss/,
    ],
    [
      'other cluster key',
      signServiceAccountToken(otherPki.serviceAccountKey, {
        namespace: 'default',
        name: 'builder',
        uid: 'uid-builder',
      }),
      /SIGNATURE/,
    ],
    [
      'deleted SA',
      signServiceAccountToken(pki.serviceAccountKey, { namespace: 'default', name: 'gone', uid: 'x' }),
      /no longer exists/,
    ],
    [
      'recreated SA',
      signServiceAccountToken(pki.serviceAccountKey, { namespace: 'default', name: 'builder', uid: 'old-uid' }),
      /recreated/,
    ],
  ];
  for (const [what, signed, reason] of cases) {
    rejects.length = 0;
    assert.equal(await whoami({ headers: { authorization: `Bearer ${(await signed).token}` } }), null, what);
    assert.match(rejects.join(), reason, what);
  }
  // A tampered payload fails the signature.
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.sub = 'system:serviceaccount:kube-system:admin';
  assert.equal(
    await whoami({
      headers: { authorization: `Bearer ${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}` },
    }),
    null,
  );
  await assert.rejects(
    signServiceAccountToken(pki.serviceAccountKey, {
      namespace: 'default',
      name: 'b',
      uid: 'u',
      expirationSeconds: 10,
    }),
    (e: any) => e.field === 'spec.expirationSeconds',
  );
});

test('legacy secret-based service-account tokens do not expire and need their Secret', async () => {
  const token = await signLegacyServiceAccountToken(pki.serviceAccountKey, {
    namespace: 'default',
    name: 'builder',
    uid: 'uid-builder',
    secretName: 'builder-token',
  });
  rejects.length = 0;
  assert.equal(await whoami({ headers: { authorization: `Bearer ${token}` } }), null, 'secret missing');
  assert.match(rejects.join(), /secret default\/builder-token/);
  secrets.set('default/builder-token', token);
  const user = await whoami({ headers: { authorization: `Bearer ${token}` } });
  assert.equal(user?.username, 'system:serviceaccount:default:builder');
  assert.ok(user?.groups.includes('system:serviceaccounts:default'));
  secrets.set('default/builder-token', 'rotated');
  assert.equal(await whoami({ headers: { authorization: `Bearer ${token}` } }), null, 'secret holds another token');
});

test('garbage and hostile tokens are refused without throwing', async () => {
  const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const hostile = [
    `${b64({ alg: 'none' })}.${b64({ sub: 'system:serviceaccount:kube-system:admin', iss: 'https://kubernetes.default.svc.cluster.local' })}.`,
    `${b64({ alg: 'HS256' })}.${b64({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:a:b' })}.AAAA`,
    `${b64({ alg: 'ES256', crit: ['x'] })}.${b64({})}.AAAA`,
    `${b64('x')}.${b64('"str"')}.${b64('z')}`,
    'a.b.c',
    '...',
    '',
    ' ',
    'Bearer',
  ];
  for (let i = 0; i < 100; i++) hostile.push([20, 30, 10].map((n) => randomBytes(n).toString('base64url')).join('.'));
  for (const t of hostile) {
    const r = await authenticate.token(t);
    assert.ok('reason' in r, t);
  }
});
