// The real kubectl (Go's crypto/tls and client-go) against the PKI and kubeconfig: a minimal HTTPS
// server built from serverTlsOptions() answers /version, /api, /apis and records who called.
// Run over HTTP/1.1 (https) and HTTP/2 (kubectl negotiates h2 through ALPN when offered).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import https from 'node:https';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import {
  ensurePki,
  writeKubeconfig,
  createAuthenticator,
  serverTlsOptions,
  type Pki,
  type UserInfo,
  type AuthRequest,
} from './index.js';

const run = promisify(execFile);
let dir: string;
let pki: Pki;
const seen: { path: string; user: UserInfo | undefined; httpVersion: string }[] = [];
const servers: { close(): void }[] = [];

function handler(authenticate: ReturnType<typeof createAuthenticator>) {
  return (
    req: AuthRequest & { url?: string; httpVersion: string },
    res: { writeHead(c: number, h: Record<string, string>): void; end(b: string): void },
  ) => {
    void authenticate(req).then((user) => {
      seen.push({ path: req.url ?? '', user, httpVersion: req.httpVersion });
      const json = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!user)
        return json(401, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'Unauthorized',
          reason: 'Unauthorized',
          code: 401,
        });
      if (req.url?.startsWith('/version')) {
        return json(200, {
          major: '1',
          minor: '32',
          gitVersion: 'v1.32.0-skiff',
          gitCommit: '',
          gitTreeState: 'clean',
          buildDate: '2026-01-01T00:00:00Z',
          goVersion: 'go1.23',
          compiler: 'gc',
          platform: 'linux/amd64',
        });
      }
      if (req.url?.startsWith('/api?') || req.url === '/api')
        return json(200, {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }],
        });
      if (req.url?.startsWith('/apis')) return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
      return json(404, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
      });
    });
  };
}

before(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skiff-kubectl-auth-'));
  pki = await ensurePki(join(dir, 'data'), { hosts: ['127.0.0.1', 'localhost'] });
});

after(async () => {
  for (const s of servers) s.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function listen(kind: 'https' | 'h2', host = '127.0.0.1'): Promise<string> {
  const authenticate = createAuthenticator({ pki });
  const h = handler(authenticate) as any;
  const server =
    kind === 'https'
      ? https.createServer(serverTlsOptions(pki), h)
      : http2.createSecureServer({ ...serverTlsOptions(pki), allowHTTP1: true }, h);
  await new Promise<void>((r) => server.listen(0, host, r));
  servers.push({
    close: () => {
      (server as any).closeAllConnections?.();
      server.close();
    },
  });
  return `https://${host}:${(server.address() as AddressInfo).port}`;
}

async function kubectlVersion(kubeconfig: string): Promise<any> {
  const { stdout } = await run(
    'kubectl',
    ['version', '-o', 'json', '--kubeconfig', kubeconfig, '--request-timeout', '10s'],
    { timeout: 15_000 },
  );
  return JSON.parse(stdout);
}

for (const kind of ['https', 'h2'] as const) {
  test(`kubectl accepts the serving certificate and authenticates with the admin client certificate (${kind})`, async () => {
    const server = await listen(kind);
    const kc = join(dir, `cert-${kind}.yaml`);
    await writeKubeconfig(kc, { server, pki });
    seen.length = 0;
    const out = await kubectlVersion(kc);
    assert.equal(out.serverVersion.gitVersion, 'v1.32.0-skiff');
    const call = seen.find((s) => s.path.startsWith('/version'));
    assert.deepEqual(
      { ...call?.user, extra: undefined },
      { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'], extra: undefined },
    );
    assert.match(
      call?.user?.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '',
      /^X509SHA256=[0-9a-f]{64}$/,
    );
    assert.equal(call?.httpVersion, kind === 'h2' ? '2.0' : '1.1');
  });

  test(`kubectl authenticates with the admin bearer token (${kind})`, async () => {
    const server = await listen(kind);
    const kc = join(dir, `token-${kind}.yaml`);
    await writeKubeconfig(kc, { server, pki, useToken: true });
    seen.length = 0;
    await kubectlVersion(kc);
    assert.deepEqual(seen.find((s) => s.path.startsWith('/version'))?.user, {
      username: 'skiff-admin',
      uid: 'skiff-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
  });
}

test('kubectl without credentials gets 401 and reports it', async () => {
  const server = await listen('https');
  const kc = join(dir, 'anon.yaml');
  await writeKubeconfig(kc, { server, pki, credentials: { token: 'wrong-token' } });
  await assert.rejects(kubectlVersion(kc), (e: any) =>
    /You must be logged in to the server|Unauthorized/.test(String(e.stderr)),
  );
});

test('kubectl refuses a server whose certificate does not cover the address it dials', async () => {
  // 127.0.0.2 is loopback too, but not in the serving certificate's SANs.
  const server = await listen('https', '127.0.0.2');
  const kc = join(dir, 'wrong-host.yaml');
  await writeKubeconfig(kc, { server, pki });
  await assert.rejects(kubectlVersion(kc), (e: any) =>
    /certificate is valid for .*not 127\.0\.0\.2/.test(String(e.stderr)),
  );
});
