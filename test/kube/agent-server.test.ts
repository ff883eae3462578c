import { execFileSync } from 'node:child_process';
// The node's HTTPS server and the API server's proxying to it, with a fake ContainerRuntime and a
// stand-in streaming server: pods/log (tail, timestamps, previous, the agent's refusals as Status),
// exec and port-forward upgrades passing through both proxies (WebSocket subprotocol negotiated end
// to end), /stats/summary and metrics.k8s.io, and the agent's authorization of its callers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import WebSocket, { WebSocketServer } from 'ws';
import { startNodeAgent, startServer, type RunningNodeAgent, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import { auth } from '../../src/kube/apiserver/index.js';
import { FakeRuntime } from '../fixtures/fake-cri.js';

let srv: RunningServer, c: KubeClient, dir: string, rt: FakeRuntime, node: RunningNodeAgent;
let stream: http.Server, creds: { ca: string; cert: string; key: string };
const seen: { url: string; protocol: string }[] = [];
const NODE = `srv-${Math.random().toString(36).slice(2, 8)}`;
const log = createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' });

const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

function raw(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(new URL(path, srv.url), { ...creds, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-srv-'));
  srv = await startServer({ dataDir: join(dir, 'server'), httpsListen: '127.0.0.1:0', datastore: 'memory://', log });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  creds = {
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  };
  c = new KubeClient({ server: srv.url, ...creds });
  // A stand-in for the runtime's streaming server: echoes over a WebSocket, records what arrived.
  stream = http.createServer((_req, res) => res.end('not an upgrade'));
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => [...p][0] ?? false });
  stream.on('upgrade', (req, sock, head) => {
    seen.push({ url: req.url ?? '', protocol: String(req.headers['sec-websocket-protocol'] ?? '') });
    wss.handleUpgrade(req, sock, head, (ws) =>
      ws.on('message', (m) => ws.send(Buffer.concat([Buffer.from('echo:'), m as Buffer]))),
    );
  });
  await new Promise<void>((r) => stream.listen(0, '127.0.0.1', () => r()));
  rt = new FakeRuntime();
  rt.streamBase = `http://127.0.0.1:${(stream.address() as { port: number }).port}`;
  rt.behaviour = () => ({ output: ['one', 'two', 'three'] });
  node = await startNodeAgent({
    server: srv,
    runtime: rt,
    nodeName: NODE,
    nodeIP: '127.0.0.1',
    dataDir: join(dir, 'agent'),
    podLogsDir: join(dir, 'logs'),
    listen: { host: '127.0.0.1', port: 0 },
    log,
  });
  // ServiceAccount admission refuses pods until the namespace's `default` account exists (as upstream).
  await until('the default ServiceAccount', async () =>
    c.request('GET', '/api/v1/namespaces/default/serviceaccounts/default').then(
      () => true,
      () => false,
    ),
  );
  await c.request('POST', '/api/v1/namespaces/default/pods', {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1', labels: { app: 'p1' } },
      spec: {
        nodeName: NODE,
        containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent' }],
      },
    },
  });
  await until(
    'p1 running',
    async () => (await c.request('GET', '/api/v1/namespaces/default/pods/p1')).status?.phase === 'Running',
  );
});

after(async () => {
  await node?.stop();
  await srv?.close();
  c?.close();
  stream?.close();
  // The agent leaves pods (and their volume mounts) in place when it stops, as kubelet does.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m?.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) execFileSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

describe('node server through the API server', () => {
  it('serves logs: all, tail, timestamps', async () => {
    const all = await raw('/api/v1/namespaces/default/pods/p1/log');
    assert.equal(all.status, 200);
    assert.equal(all.body, 'one\ntwo\nthree\n');
    assert.equal((await raw('/api/v1/namespaces/default/pods/p1/log?tailLines=1')).body, 'three\n');
    const ts = (await raw('/api/v1/namespaces/default/pods/p1/log?timestamps=true&tailLines=2')).body.split('\n');
    assert.match(ts[0], /^\d{4}-\d\d-\d\dT\S+Z two$/);
    assert.equal((await raw('/api/v1/namespaces/default/pods/p1/log?limitBytes=5')).body, 'one\nt');
  });

  it('relays the agent refusal as a Status', async () => {
    const r = await raw('/api/v1/namespaces/default/pods/p1/log?previous=true');
    assert.equal(r.status, 400);
    const st = JSON.parse(r.body);
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'BadRequest');
    assert.equal(st.message, 'previous terminated container "main" in pod "p1" not found');
  });

  it('passes an exec WebSocket through both proxies to the streaming server', async () => {
    const url = new URL(
      '/api/v1/namespaces/default/pods/p1/exec?command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&tty=true',
      srv.url.replace('https', 'wss'),
    );
    const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { ...creds });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    const reply = new Promise<Buffer>((r) => ws.once('message', (m) => r(m as Buffer)));
    ws.send(Buffer.from([0, 0x68, 0x69]));
    assert.deepEqual(await reply, Buffer.concat([Buffer.from('echo:'), Buffer.from([0, 0x68, 0x69])]));
    ws.close();
    const last = seen[seen.length - 1];
    assert.match(last.url, /^\/exec\/c\d+\?cmd=sh%20-c%20echo%20hi$/);
    assert.equal(last.protocol, 'v5.channel.k8s.io, v4.channel.k8s.io');
    const exec = rt.calls.length;
    assert.ok(exec > 0);
  });

  it('refuses an attach to a stopped container as kubelet does (a message kubectl can print)', async () => {
    const was = rt.behaviour;
    rt.behaviour = (cfg) => (cfg.metadata?.name === 'quit' ? { exitAfterMs: 10, exitCode: 0 } : was(cfg));
    await c.request('POST', '/api/v1/namespaces/default/pods', {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p2' },
        spec: {
          nodeName: NODE,
          restartPolicy: 'Never',
          containers: [{ name: 'quit', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent' }],
        },
      },
    });
    await until(
      'p2 done',
      async () =>
        (await c.request('GET', '/api/v1/namespaces/default/pods/p2')).status?.containerStatuses?.[0]?.state
          ?.terminated,
    );
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        new URL('/api/v1/namespaces/default/pods/p2/attach?container=quit&stdout=true', srv.url),
        {
          ...creds,
          agent: false,
          method: 'POST',
          headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
        },
      );
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    // (a ": " in it made kubectl read the text as a YAML Status with no message)
    assert.deepEqual(r, { status: 500, body: 'container not found ("quit")' });
  });

  it('passes a port-forward upgrade to the pod sandbox', async () => {
    const ws = new WebSocket(
      new URL('/api/v1/namespaces/default/pods/p1/portforward?ports=8080', srv.url.replace('https', 'wss')),
      ['portforward.k8s.io'],
      { ...creds },
    );
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.close();
    assert.match(seen[seen.length - 1].url, /^\/portforward\/sb\d+$/);
  });

  it('serves stats and metrics.k8s.io', async () => {
    const pm = await until('pod metrics', async () => {
      const l = await c.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods');
      return l.items.find((x: { metadata: { name: string } }) => x.metadata.name === 'p1');
    });
    assert.equal(pm.containers[0].name, 'main');
    assert.equal(pm.containers[0].usage.cpu, '1000000n');
    assert.equal(pm.containers[0].usage.memory, '4096Ki');
    const nm = await c.request('GET', `/apis/metrics.k8s.io/v1beta1/nodes/${NODE}`);
    assert.equal(nm.kind, 'NodeMetrics');
    assert.match(nm.usage.memory, /^\d+Ki$/);
    const groups = await c.request('GET', '/apis');
    assert.ok(groups.groups.some((g: { name: string }) => g.name === 'metrics.k8s.io'));
  });

  it('authorizes its callers: a client certificate without rights is refused', async () => {
    const nobody = await auth.issueClientCertificate(srv.pki, { commonName: 'nobody', organizations: [] });
    const get = (cert?: { certPem: string; keyPem: string }) =>
      new Promise<number>((resolve, reject) => {
        https
          .get(
            `https://127.0.0.1:${node.agent.port}/stats/summary`,
            { ca: creds.ca, cert: cert?.certPem, key: cert?.keyPem, agent: false },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          )
          .on('error', reject);
      });
    assert.equal(await get(), 401);
    assert.equal(await get(nobody), 403);
    assert.equal(await get({ certPem: creds.cert, keyPem: creds.key }), 200);
  });
});
