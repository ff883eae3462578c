// The node network of a single-node `skiff start` (issue 15 on one node), with the real kubectl
// 1.32: pods find Services by name through the cluster DNS (resolv.conf as kubelet writes it, the
// kube-dns Service address), reach them through the service proxy (both endpoints answer), and a
// NetworkPolicy denies, then admits by label, then stops applying when deleted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;
const NS = 'netcheck';

const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> => {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
};
/** One HTTP GET from the client pod; the answer, or undefined when it failed. */
const fetchFrom = async (url: string) => {
  // Debian's busybox 1.35 `wget -T` segfaults: the timeout comes from the `timeout` applet.
  const r = await s.kubectl(['exec', '-n', NS, 'client', '--', 'timeout', '3', 'wget', '-qO-', url], {
    timeoutMs: 20_000,
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
};

before(async () => {
  s = await startSkiff();
  await s.apply(`
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${NS}, labels: {role: client}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`);
  await s.k(['rollout', 'status', '-n', NS, 'deployment/web', '--timeout=90s'], { timeoutMs: 100_000 });
  await s.k(['wait', '-n', NS, '--for=condition=Ready', 'pod/client', '--timeout=60s'], { timeoutMs: 70_000 });
});
after(async () => {
  // The Deployment goes first (else its ReplicaSet replaces the pods stop() deletes).
  await s?.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
  if (s) assert.deepEqual(await s.stop(), []);
});

describe('node network: cluster DNS, service proxy, NetworkPolicy (skiff start, kubectl 1.32)', () => {
  it('resolv.conf as kubelet writes it; Services by name; both endpoints answer through the ClusterIP', async () => {
    const dnsIP = (
      await s.k(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const resolv = await s.k(['exec', '-n', NS, 'client', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, new RegExp(`^nameserver ${dnsIP.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(
      resolv,
      new RegExp(`^search ${NS}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local`, 'm'),
    );
    assert.match(resolv, /^options ndots:5$/m);
    const clusterIP = (await s.k(['get', 'svc', '-n', NS, 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const ns = await s.k(['exec', '-n', NS, 'client', '--', 'nslookup', `web.${NS}.svc.cluster.local`]);
    assert.match(ns, new RegExp(`Address:? *(1: )?${clusterIP.replace(/\./g, '\\.')}`));
    const kube = await s.k(['exec', '-n', NS, 'client', '--', 'nslookup', 'kubernetes.default.svc.cluster.local']);
    assert.match(kube, /kubernetes\.default\.svc\.cluster\.local/);
    const pods = (await s.k(['get', 'pods', '-n', NS, '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']))
      .trim()
      .split(/\s+/)
      .sort();
    const seen = new Set<string>();
    await until('both endpoints answering through the Service name', async () => {
      const answer = await fetchFrom('http://web');
      if (answer) seen.add(answer);
      return seen.size === 2;
    });
    assert.deepEqual([...seen].sort(), pods);
  });

  it('NetworkPolicy: default deny, then allowed by pod label, then gone', async () => {
    await s.apply(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`);
    await until('traffic to web refused', async () => !(await fetchFrom('http://web')), 30_000);
    await s.apply(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-clients, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]
`);
    await until('traffic from role=client admitted', () => fetchFrom('http://web'), 30_000);
    // Without the label the client is refused again; with the policies gone it is admitted.
    await s.k(['label', '-n', NS, 'pod/client', 'role-']);
    await until('refused without the label', async () => !(await fetchFrom('http://web')), 30_000);
    await s.k(['delete', '-n', NS, 'networkpolicy', '--all']);
    await until('admitted with no policy', () => fetchFrom('http://web'), 30_000);
  });
});
