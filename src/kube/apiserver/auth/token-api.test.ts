import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { jwtVerify, createLocalJWKSet, decodeJwt } from 'jose';
import {
  ensurePki,
  createAuthenticator,
  reviewToken,
  requestServiceAccountToken,
  serviceAccountIssuerDiscovery,
  signServiceAccountToken,
  type Pki,
  type Authenticator,
} from './index.js';

let dir: string;
let pki: Pki;
let authn: Authenticator;
const SA = { namespace: 'default', name: 'builder', uid: 'uid-builder' };

before(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skiff-tokenapi-'));
  pki = await ensurePki(dir, { hosts: ['127.0.0.1'] });
  authn = createAuthenticator({
    pki,
    lookupServiceAccount: async (ns, name) =>
      ns === 'default' && name === 'builder' ? { uid: 'uid-builder' } : undefined,
    lookupPod: async (ns, name) => (name === 'p1' ? { uid: 'pod-uid' } : undefined),
  });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('TokenRequest signs a token that authenticates; defaults, audiences, bound pods and bad specs', async () => {
  const now = Date.now();
  const r = await requestServiceAccountToken(pki.serviceAccountKey, SA, {});
  const exp = Date.parse(r.expirationTimestamp);
  assert.ok(exp - now > 3590_000 && exp - now < 3610_000, 'one hour by default');
  assert.equal((await authn.token(r.token)).hasOwnProperty('user'), true);

  const vault = await requestServiceAccountToken(pki.serviceAccountKey, SA, {
    audiences: ['vault'],
    expirationSeconds: 600,
  });
  assert.deepEqual(decodeJwt(vault.token).aud, ['vault']);
  assert.ok('reason' in (await authn.token(vault.token)), 'not for the API server');

  const bound = await requestServiceAccountToken(
    pki.serviceAccountKey,
    SA,
    { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1' } },
    { lookupBoundObject: async ({ name }) => (name === 'p1' ? { uid: 'pod-uid' } : undefined) },
  );
  const bu = await authn.token(bound.token);
  assert.ok('user' in bu && bu.user.extra?.['authentication.kubernetes.io/pod-uid']?.[0] === 'pod-uid');

  const bad = async (spec: unknown, field: RegExp, opts = {}) =>
    assert.rejects(
      requestServiceAccountToken(pki.serviceAccountKey, SA, spec, opts),
      (e: any) => e.code === 'InvalidArgument' && field.test(e.field),
    );
  await bad({ expirationSeconds: 10 }, /^spec\.expirationSeconds$/);
  await bad({ expirationSeconds: 'soon' }, /^spec\.expirationSeconds$/);
  await bad({ audiences: 'x' }, /^spec\.audiences$/);
  await bad({ boundObjectRef: { kind: 'Deployment', name: 'd' } }, /^spec\.boundObjectRef\.kind$/);
  await bad({ boundObjectRef: { kind: 'Pod', name: 'gone' } }, /^spec\.boundObjectRef\.name$/, {
    lookupBoundObject: async () => undefined,
  });
  await bad({ boundObjectRef: { kind: 'Pod', name: 'p1', uid: 'other' } }, /^spec\.boundObjectRef\.uid$/, {
    lookupBoundObject: async () => ({ uid: 'pod-uid' }),
  });
});

test('TokenReview reports the user and the matched audiences, or the error', async () => {
  const { token } = await signServiceAccountToken(pki.serviceAccountKey, {
    ...SA,
    audiences: ['https://kubernetes.default.svc.cluster.local', 'vault'],
  });
  const ok = await reviewToken(authn, { token });
  assert.equal(ok.authenticated, true);
  assert.equal(ok.user?.username, 'system:serviceaccount:default:builder');
  assert.deepEqual(ok.audiences, ['https://kubernetes.default.svc.cluster.local']);
  assert.deepEqual((await reviewToken(authn, { token, audiences: ['vault'] })).audiences, ['vault']);
  const wrongAud = await reviewToken(authn, { token, audiences: ['other'] });
  assert.equal(wrongAud.authenticated, false);
  assert.match(wrongAud.error ?? '', /aud/);

  const admin = await reviewToken(authn, { token: pki.admin.token });
  assert.deepEqual(admin.user, {
    username: 'skiff-admin',
    uid: 'skiff-admin',
    groups: ['system:masters', 'system:authenticated'],
  });
  assert.equal(
    (await reviewToken(authn, { token: pki.admin.token, audiences: ['vault'] })).authenticated,
    false,
    'static tokens only for the API server',
  );
  assert.deepEqual(await reviewToken(authn, { token: 'nope' }), {
    authenticated: false,
    error: 'invalid bearer token',
  });
  await assert.rejects(reviewToken(authn, {}), (e: any) => e.field === 'spec.token');
});

test("issuer discovery publishes a JWKS that verifies the cluster's tokens", async () => {
  const d = serviceAccountIssuerDiscovery(pki.serviceAccountKey);
  assert.equal(d.openidConfiguration.issuer, 'https://kubernetes.default.svc.cluster.local');
  assert.equal(d.openidConfiguration.jwks_uri, 'https://kubernetes.default.svc.cluster.local/openid/v1/jwks');
  assert.deepEqual(d.openidConfiguration.id_token_signing_alg_values_supported, ['ES256']);
  assert.equal(d.jwks.keys[0].kid, pki.serviceAccountKey.keyId);
  assert.equal('d' in d.jwks.keys[0], false, 'no private key material');
  const { token } = await signServiceAccountToken(pki.serviceAccountKey, SA);
  const { payload } = await jwtVerify(token, createLocalJWKSet(d.jwks as any), {
    issuer: d.openidConfiguration.issuer,
  });
  assert.equal(payload.sub, 'system:serviceaccount:default:builder');
});
