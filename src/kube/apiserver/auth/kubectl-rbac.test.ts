// The real kubectl against authentication + RBAC: a minimal HTTPS server authenticates each request,
// authorizes it from its method and URL (requestAttributes), answers discovery and the two review
// kinds with this module's functions, and refuses with forbiddenStatus. Proves `kubectl auth can-i`,
// `kubectl auth can-i --list` and kubectl's Forbidden error line read our answers right.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import {
  ensurePki,
  writeKubeconfig,
  createAuthenticator,
  serverTlsOptions,
  addStaticToken,
  createRbacAuthorizer,
  requestAttributes,
  reviewAccess,
  reviewRules,
  forbiddenStatus,
  unauthorizedStatus,
  impersonate,
  type Pki,
} from './index.js';
import { fixtureSource } from './rbac.fixture.js';

const run = promisify(execFile);
let dir: string;
let pki: Pki;
let server: https.Server;
let bobConfig: string;
let adminConfig: string;

const resources = (groupVersion: string, list: [string, string, boolean][]) => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion,
  resources: list.map(([name, kind, namespaced]) => ({
    name,
    singularName: name.includes('/') ? '' : kind.toLowerCase(),
    namespaced,
    kind,
    verbs: name.includes('/') ? ['get', 'create'] : ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  })),
});
const group = (name: string) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: 'v1' }],
  preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' },
});
const DISCOVERY: Record<string, unknown> = {
  '/api': {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }],
  },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [group('apps'), group('authorization.k8s.io')] },
  '/api/v1': resources('v1', [
    ['pods', 'Pod', true],
    ['pods/log', 'Pod', true],
    ['secrets', 'Secret', true],
    ['configmaps', 'ConfigMap', true],
    ['nodes', 'Node', false],
  ]),
  '/apis/apps/v1': resources('apps/v1', [
    ['deployments', 'Deployment', true],
    ['deployments/scale', 'Scale', true],
  ]),
  '/apis/authorization.k8s.io/v1': resources('authorization.k8s.io/v1', [
    ['selfsubjectaccessreviews', 'SelfSubjectAccessReview', false],
    ['selfsubjectrulesreviews', 'SelfSubjectRulesReview', false],
  ]),
};

// kubectl's typed clients send these reviews as protobuf (`k8s\0` + runtime.Unknown{typeMeta=1,
// raw=2}); the API server decodes them in its own module, so this test reads the few fields itself.
function pbFields(buf: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let pos = 0;
  const varint = () => {
    let r = 0,
      mul = 1;
    for (;;) {
      const b = buf[pos++];
      r += (b & 0x7f) * mul;
      if (!(b & 0x80)) return r;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) {
      varint();
      continue;
    }
    if (wire !== 2) throw new Error(`unexpected wire type ${wire}`);
    const n = varint();
    const v = buf.subarray(pos, pos + n);
    pos += n;
    out.set(tag >> 3, [...(out.get(tag >> 3) ?? []), v]);
  }
  return out;
}
const str = (f: Map<number, Uint8Array[]>, n: number) => (f.get(n) ? Buffer.from(f.get(n)![0]).toString() : undefined);
function decodeReviewSpec(body: Buffer, contentType: string | undefined, kind: string): any {
  if (!contentType?.startsWith('application/vnd.kubernetes.protobuf')) return JSON.parse(body.toString()).spec;
  assert.equal(body.subarray(0, 4).toString('latin1'), 'k8s\0');
  const raw = pbFields(pbFields(body.subarray(4)).get(2)![0]);
  const spec = raw.get(2) ? pbFields(raw.get(2)![0]) : new Map();
  // SelfSubjectRulesReviewSpec has a string namespace at 1; SelfSubjectAccessReviewSpec messages at 1 and 2.
  if (kind === 'SelfSubjectRulesReview') return { namespace: str(spec, 1) ?? '' };
  const ra = spec.get(1) && pbFields(spec.get(1)![0]);
  const na = spec.get(2) && pbFields(spec.get(2)![0]);
  return {
    ...(ra
      ? {
          resourceAttributes: {
            namespace: str(ra, 1),
            verb: str(ra, 2),
            group: str(ra, 3),
            version: str(ra, 4),
            resource: str(ra, 5),
            subresource: str(ra, 6),
            name: str(ra, 7),
          },
        }
      : {}),
    ...(na ? { nonResourceAttributes: { path: str(na, 1), verb: str(na, 2) } } : {}),
  };
}

before(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skiff-kubectl-rbac-'));
  pki = await ensurePki(join(dir, 'data'), { hosts: ['127.0.0.1'] });
  const bobToken = await addStaticToken(pki.tokenFile, { user: 'bob', uid: 'u-bob', groups: ['devs'] });
  const authenticate = createAuthenticator({ pki });
  const authz = createRbacAuthorizer(fixtureSource());
  server = https.createServer(
    serverTlsOptions(pki),
    (req, res) =>
      void handle(req, res).catch((e) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            code: 500,
            reason: 'InternalError',
            message: String(e),
          }),
        );
      }),
  );
  async function handle(
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const requester = await authenticate(req);
    if (!requester) return send(401, unauthorizedStatus());
    const imp = await impersonate(authz, requester, req.headersDistinct);
    if ('forbidden' in imp) return send(403, imp.forbidden);
    const user = imp.user;
    const attrs = requestAttributes(req.method ?? 'GET', req.url ?? '/');
    const d = await authz.authorize(user, attrs);
    if (!d.allowed) return send(403, forbiddenStatus(user, attrs, d.reason));
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    if (DISCOVERY[path]) return send(200, DISCOVERY[path]);
    const kind = {
      selfsubjectaccessreviews: 'SelfSubjectAccessReview',
      selfsubjectrulesreviews: 'SelfSubjectRulesReview',
    }[attrs.resource ?? ''];
    if (attrs.resourceRequest && kind) {
      const spec = decodeReviewSpec(body, req.headers['content-type'], kind);
      const { namespace, ...accessSpec } = spec;
      const status =
        kind === 'SelfSubjectAccessReview'
          ? await reviewAccess(authz, user, accessSpec)
          : await reviewRules(authz, user, namespace);
      return send(201, { kind, apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec, status });
    }
    if (attrs.resourceRequest && attrs.verb === 'list')
      return send(200, { kind: 'List', apiVersion: 'v1', metadata: {}, items: [] });
    return send(404, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: 'not found',
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  bobConfig = join(dir, 'bob.yaml');
  adminConfig = join(dir, 'admin.yaml');
  await writeKubeconfig(bobConfig, { server: url, pki, user: 'bob', credentials: { token: bobToken } });
  await writeKubeconfig(adminConfig, { server: url, pki });
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

async function kubectl(
  kubeconfig: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
      { timeout: 15_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e: any) {
    if (typeof e.code !== 'number') throw e; // kubectl missing or killed: a failure, not a "no"
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('kubectl auth can-i answers from RBAC (resources, subresources, non-resource URLs)', async () => {
  const cases: [string[], 'yes' | 'no'][] = [
    [['create', 'deployments', '-n', 'dev'], 'yes'],
    [['create', 'deployments', '-n', 'prod'], 'no'],
    [['get', 'pods', '--subresource=log', '-n', 'dev'], 'yes'],
    [['create', 'roles.rbac.authorization.k8s.io', '-n', 'dev'], 'no'],
    [['get', '/version'], 'yes'],
    [['get', '/metrics'], 'no'],
    [['list', 'nodes'], 'no'],
  ];
  // Warm kubectl's discovery cache once, then ask in parallel.
  await kubectl(bobConfig, 'auth', 'can-i', 'get', 'pods');
  const results = await Promise.all(cases.map(([args]) => kubectl(bobConfig, 'auth', 'can-i', ...args)));
  cases.forEach(([args, want], i) => {
    const r = results[i];
    assert.equal(r.stdout.trim(), want, `can-i ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.code, want === 'yes' ? 0 : 1);
  });
  const admin = await kubectl(adminConfig, 'auth', 'can-i', '*', '*', '--all-namespaces');
  assert.equal(admin.stdout.trim(), 'yes');
});

test('kubectl auth can-i --list prints the rules that apply in the namespace', async () => {
  const r = await kubectl(bobConfig, 'auth', 'can-i', '--list', '-n', 'dev');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
  assert.match(
    r.stdout,
    /\ndeployments\.apps\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]\n/,
  );
  assert.match(r.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io/);
  assert.match(r.stdout, /\[\/version\]\s+\[\]\s+\[get\]/);
  const prod = await kubectl(bobConfig, 'auth', 'can-i', '--list', '-n', 'prod');
  assert.doesNotMatch(prod.stdout, /deployments\.apps/);
});

test('kubectl prints our Forbidden Status the usual way', async () => {
  const r = await kubectl(bobConfig, 'get', 'pods', '-n', 'prod');
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Error from server \(Forbidden\): pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "prod"/,
  );
  const ok = await kubectl(bobConfig, 'get', 'pods', '-n', 'dev');
  assert.equal(ok.code, 0, ok.stderr);
});

test('kubectl --as / --as-group impersonation is authorized and then applied', async () => {
  const yes = await kubectl(
    adminConfig,
    'auth',
    'can-i',
    'create',
    'deployments',
    '-n',
    'dev',
    '--as=bob',
    '--as-group=devs',
  );
  assert.equal(yes.stdout.trim(), 'yes', yes.stderr);
  const no = await kubectl(adminConfig, 'auth', 'can-i', 'create', 'deployments', '-n', 'dev', '--as=bob');
  assert.equal(no.stdout.trim(), 'no', 'without the devs group bob has no edit rights');
  const sa = await kubectl(
    adminConfig,
    'auth',
    'can-i',
    'create',
    'secrets',
    '-n',
    'dev',
    '--as=system:serviceaccount:dev:builder',
  );
  assert.equal(sa.stdout.trim(), 'yes', sa.stderr);
  const refused = await kubectl(bobConfig, 'get', 'pods', '-n', 'dev', '--as=skiff-admin');
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /Error from server \(Forbidden\): users "skiff-admin" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope/,
  );
});
