// The Service proxy as users meet it (issue 15), on a single-node `skiff start` with the real kubectl
// 1.32: `kubectl expose` with a named targetPort, `kubectl create service nodeport|loadbalancer|
// clusterip|externalname`, a Service of several ports, a UDP Service, sessionAffinity ClientIP,
// externalTrafficPolicy Local, a selector matching nothing (refused at once), a pod reaching its own
// Service (hairpin), and endpoints changing under a client that loops. Every request is made from a
// client pod (busybox) to addresses of this run: Service IPs, and the pod bridge's host address
// (a local address of the node, where NodePorts and LoadBalancer ports answer).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;
const NS = 'proxyuse';
let gateway: string;

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
const sh = (pod: string, script: string, timeoutMs = 30_000) =>
  s.kubectl(['exec', '-n', NS, pod, '--', 'sh', '-c', script], { timeoutMs });
/** One HTTP GET from the client pod; the answer, or undefined when it failed. */
const fetchFrom = async (url: string, pod = 'client') => {
  // Debian's busybox 1.35 `wget -T` segfaults: the timeout comes from the `timeout` applet.
  const r = await s.kubectl(['exec', '-n', NS, pod, '--', 'timeout', '3', 'wget', '-qO-', url], {
    timeoutMs: 20_000,
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
};
const jsonpath = async (what: string[], path: string) =>
  (await s.k(['get', '-n', NS, ...what, '-o', `jsonpath=${path}`])).trim();
const webPods = async () =>
  (await jsonpath(['pods', '-l', 'app=web', '--field-selector=status.phase=Running'], '{.items[*].metadata.name}'))
    .split(/\s+/)
    .filter(Boolean)
    .sort();
/** The distinct answers of `n` fetches of `url` from the client in one exec (one line per fetch). */
const loop = async (url: string, n: number) => {
  const r = await sh('client', `for i in $(seq ${n}); do timeout 3 wget -qO- ${url} || echo FAIL; done`, 60_000);
  return r.stdout.trim().split('\n');
};

before(async () => {
  s = await startSkiff();
  gateway = s.podCidr.replace(/\.0\/24$/, '.1');
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
      terminationGracePeriodSeconds: 10
      containers:
      - name: httpd
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
        # As users do for a clean scale-down: the endpoint goes (EndpointSlice controller, then
        # the proxy) while the server still answers; 5 s leaves room for a loaded machine.
        lifecycle: {preStop: {exec: {command: ["sleep", "5"]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${NS}, labels: {role: client}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`);
  await s.k(['rollout', 'status', '-n', NS, 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
  await s.k(['wait', '-n', NS, '--for=condition=Ready', 'pod/client', '--timeout=60s'], { timeoutMs: 70_000 });
});
after(async () => {
  await s?.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
  if (s) assert.deepEqual(await s.stop(), []);
});

describe('the service proxy through kubectl (skiff start, kubectl 1.32)', () => {
  it('kubectl expose deployment --port --target-port NAME: both pods answer through the Service name', async () => {
    await s.k(['expose', '-n', NS, 'deployment', 'web', '--name', 'exposed', '--port', '80', '--target-port', 'http']);
    const pods = await webPods();
    const seen = new Set<string>();
    await until('both endpoints through `exposed`', async () => {
      for (const a of await loop('http://exposed', 6)) if (a !== 'FAIL') seen.add(a);
      return seen.size === 2;
    });
    assert.deepEqual([...seen].sort(), pods);
  });

  it('kubectl create service nodeport / loadbalancer: the port on the node address, ServiceLB status', async () => {
    // `create service` selects app=<name>: the Services are named after the pods' label.
    await s.k(['create', 'service', 'nodeport', 'web', '-n', NS, '--tcp=8081:8080']);
    const nodePort = await jsonpath(['svc', 'web'], '{.spec.ports[0].nodePort}');
    assert.match(nodePort, /^\d+$/);
    await until('the NodePort on the node address', () => fetchFrom(`http://${gateway}:${nodePort}`));
    // A LoadBalancer: kubectl create service loadbalancer, then its selector set to the pods.
    await s.k(['create', 'service', 'loadbalancer', 'lb', '-n', NS, '--tcp=8082:8080']);
    await s.k(['set', 'selector', '-n', NS, 'svc/lb', 'app=web']);
    const ingress = await until('status.loadBalancer.ingress', async () =>
      jsonpath(['svc', 'lb'], '{.status.loadBalancer.ingress[*].ip}'),
    );
    assert.ok(ingress.split(/\s+/).includes('127.0.0.1'), `ingress ${ingress} holds the node address`);
    const lbNodePort = await jsonpath(['svc', 'lb'], '{.spec.ports[0].nodePort}');
    await until('the LoadBalancer port on the node address', () => fetchFrom(`http://${gateway}:8082`));
    await until('the LoadBalancer NodePort', () => fetchFrom(`http://${gateway}:${lbNodePort}`));
    // externalTrafficPolicy Local: every endpoint is local on one node, so it answers as before.
    await s.k(['patch', '-n', NS, 'svc/web', '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    await until('the NodePort with externalTrafficPolicy Local', () => fetchFrom(`http://${gateway}:${nodePort}`));
  });

  it('kubectl create service externalname: a CNAME in the cluster DNS, no rules', async () => {
    await s.k(['create', 'service', 'externalname', 'ext', '-n', NS, '--external-name', 'example.invalid']);
    const out = await until('the CNAME', async () => {
      const r = await s.kubectl([
        'exec',
        '-n',
        NS,
        'client',
        '--',
        'nslookup',
        '-type=CNAME',
        `ext.${NS}.svc.cluster.local`,
      ]);
      return /canonical name = example\.invalid/.test(r.stdout) && r.stdout;
    });
    assert.match(out, /example\.invalid/);
  });

  it('a Service of several ports', async () => {
    await s.apply(`
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: ${NS}}
spec:
  selector: {app: web}
  ports:
  - {name: a, port: 80, targetPort: http}
  - {name: b, port: 81, targetPort: 8080}
`);
    await until('port 80', () => fetchFrom('http://multi:80'));
    await until('port 81', () => fetchFrom('http://multi:81'));
  });

  it('a UDP Service: DNS queries through it reach a UDP server and come back', async () => {
    // Debian's busybox 1.35 nc has no -u and busybox has no UDP server applet; the UDP server here
    // is the node's cluster DNS, the endpoint of a selector-less Service written by hand.
    const dnsIP = (
      await s.k(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    await s.apply(`
apiVersion: v1
kind: Service
metadata: {name: udp, namespace: ${NS}}
spec:
  ports: [{name: dns, port: 53, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: udp-1, namespace: ${NS}, labels: {kubernetes.io/service-name: udp}}
addressType: IPv4
ports: [{name: dns, port: 53, protocol: UDP}]
endpoints: [{addresses: ["${dnsIP}"], conditions: {ready: true}}]
`);
    const ip = await jsonpath(['svc', 'udp'], '{.spec.clusterIP}');
    const clusterIP = await jsonpath(['svc', 'exposed'], '{.spec.clusterIP}');
    const out = await until('an answer through the UDP Service', async () => {
      const r = await sh('client', `timeout 5 nslookup exposed.${NS}.svc.cluster.local ${ip}`);
      return r.stdout.includes(clusterIP) && r.stdout;
    });
    assert.match(out, new RegExp(`Address:? *(1: )?${clusterIP.replace(/\./g, '\\.')}`));
  });

  it('sessionAffinity ClientIP: one pod answers every request', async () => {
    await s.k(['patch', '-n', NS, 'svc/exposed', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
    await until('affinity applied', async () => new Set(await loop('http://exposed', 8)).size === 1);
    const answers = await loop('http://exposed', 12);
    assert.equal(new Set(answers).size, 1, answers.join(' '));
    assert.notEqual(answers[0], 'FAIL');
    await s.k(['patch', '-n', NS, 'svc/exposed', '-p', '{"spec":{"sessionAffinity":"None"}}']);
  });

  it('a selector matching nothing: refused at once, not a timeout', async () => {
    await s.k(['create', 'service', 'clusterip', 'nothing', '-n', NS, '--tcp=80:80']);
    const ip = await jsonpath(['svc', 'nothing'], '{.spec.clusterIP}');
    await until('the Service known to the proxy', async () => {
      const t0 = Date.now();
      const r = await sh('client', `timeout 5 wget -qO- http://${ip}/ 2>&1; echo rc=$?`);
      return /refused/i.test(r.stdout) && Date.now() - t0 < 4000 && r.stdout;
    });
    const t0 = Date.now();
    const r = await sh('client', `timeout 5 wget -qO- http://nothing/ 2>&1; echo rc=$?`);
    assert.match(r.stdout, /refused/i);
    assert.ok(Date.now() - t0 < 4000, `refused after ${Date.now() - t0} ms`);
  });

  it('hairpin: a pod reaches its own Service, and itself through it', async () => {
    const [pod] = await webPods();
    const seen = new Set<string>();
    await until('the pod itself answering through its Service', async () => {
      const r = await sh(pod, `for i in $(seq 8); do timeout 3 wget -qO- http://exposed || echo FAIL; done`);
      for (const a of r.stdout.trim().split('\n')) seen.add(a);
      return seen.has(pod);
    });
    assert.ok(!seen.has('FAIL'), [...seen].join(' '));
  });

  it('endpoints changing under a looping client: scale 2 → 3 → 1, no failed request', async () => {
    const looping = sh(
      'client',
      'end=$(( $(date +%s) + 40 )); n=0; f=0; while [ $(date +%s) -lt $end ]; do n=$((n+1)); timeout 3 wget -qO- http://exposed >/dev/null 2>&1 || f=$((f+1)); done; echo "$n $f"',
      90_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    await s.k(['scale', '-n', NS, 'deployment/web', '--replicas=3']);
    await s.k(['rollout', 'status', '-n', NS, 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    await s.k(['scale', '-n', NS, 'deployment/web', '--replicas=1']);
    const r = await looping;
    const [n, failed] = r.stdout.trim().split(' ').map(Number);
    assert.ok(n > 10, `only ${n} requests in 40 s`);
    assert.equal(failed, 0, `${failed} of ${n} requests failed`);
  });
});
