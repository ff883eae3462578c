// Pods for real, the lean acceptance (npm test): a private `skiff start` — engine with its CRI
// runtime, API server with controllers and scheduler, node agent, in one process as `npm start`
// runs it — driven by the real kubectl 1.32 and docker CLI 28. `kubectl run` reaches Running;
// logs, exec (-i, and -it in a pty), cp and port-forward work through the API server and the
// node; a crashing container goes to CrashLoopBackOff; a Deployment of 2 replicas becomes
// available (controllers, scheduler and agent together); an image made by `docker build` on the
// same engine runs with imagePullPolicy IfNotPresent (no import); kubectl delete waits for the
// container's own exit or its grace period; nothing is left behind on the host.
// The broad suite is pods.slow.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { KUBECTL, startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;

const get = (url: string) =>
  new Promise<string>((resolve, reject) => {
    http
      .get(url, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};
/** kubectl in a pseudo-terminal (script(1)): what `kubectl exec -it` needs to allocate a tty. */
const inPty = (args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const cmd = [KUBECTL, '--kubeconfig', s.kubeconfig, ...args].map((a) => `'${a}'`).join(' ');
    execFile('script', ['-qec', cmd, '/dev/null'], { timeout: 30_000 }, (err, out) =>
      err ? reject(new Error(`${cmd}: ${err.message}\n${out}`)) : resolve(String(out).replace(/\r/g, '')),
    );
  });

before(async () => {
  s = await startSkiff();
});
after(async () => {
  // Skiff stopped after its pods were deleted leaves no cgroup and no mount behind.
  if (s) assert.deepEqual(await s.stop(), []);
});

describe('pods on a real node: skiff start with kubectl 1.32', () => {
  it('kubectl run reaches Running; logs, exec (-i, -it), cp and port-forward work', async () => {
    await s.k([
      'run',
      'web',
      '--image=busybox',
      '--image-pull-policy=IfNotPresent',
      '--port=8080',
      '--',
      'sh',
      '-c',
      'mkdir -p /www && echo served-by-web > /www/index.html && echo web starting && exec httpd -f -p 8080 -h /www',
    ]);
    await s.k(['wait', '--for=condition=Ready', 'pod/web', '--timeout=60s']);
    assert.equal(await s.k(['get', 'pod', 'web', '-o', 'jsonpath={.status.phase}']), 'Running');
    assert.equal(await s.k(['get', 'pod', 'web', '-o', 'jsonpath={.spec.nodeName}']), s.node);
    assert.match(await s.k(['get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}']), /^10\.\d+\.\d+\.\d+$/);
    assert.equal(await s.k(['logs', 'web']), 'web starting\n');
    assert.equal(await s.k(['exec', 'web', '--', 'cat', '/www/index.html']), 'served-by-web\n');
    assert.equal(await s.k(['exec', '-i', 'web', '--', 'tr', 'a-z', 'A-Z'], { input: 'from stdin\n' }), 'FROM STDIN\n');
    // With -t the container's process gets a terminal of its own (without one `tty` says "not a tty").
    assert.match(await inPty(['exec', '-it', 'web', '--', 'tty']), /^\/dev\/pts\/\d+$/m);
    assert.equal(await s.k(['exec', 'web', '--', 'sh', '-c', 'tty || true']), 'not a tty\n');
    writeFileSync(join(s.dir, 'in.txt'), 'copied in\n');
    await s.k(['cp', join(s.dir, 'in.txt'), 'web:/tmp/in.txt']);
    assert.equal(await s.k(['exec', 'web', '--', 'cat', '/tmp/in.txt']), 'copied in\n');
    await s.k(['cp', 'web:/www/index.html', join(s.dir, 'out.txt')]);
    assert.equal(readFileSync(join(s.dir, 'out.txt'), 'utf8'), 'served-by-web\n');
    const pf = spawn(KUBECTL, ['--kubeconfig', s.kubeconfig, 'port-forward', 'pod/web', ':8080'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let o = '';
        pf.stdout.on('data', (d) => {
          o += d;
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(o);
          if (m) resolve(Number(m[1]));
        });
        pf.stderr.on('data', (d) => (o += d));
        pf.once('exit', (c) => reject(new Error(`port-forward exited ${c}: ${o}`)));
      });
      assert.equal(await get(`http://127.0.0.1:${port}/`), 'served-by-web\n');
      assert.equal(await get(`http://127.0.0.1:${port}/`), 'served-by-web\n');
    } finally {
      pf.kill();
    }
  });

  it('a Deployment of 2 replicas becomes available (controllers, scheduler, agent)', async () => {
    await s.apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec:
  replicas: 2
  selector: {matchLabels: {app: dep}}
  template:
    metadata: {labels: {app: dep}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`);
    await s.k(['rollout', 'status', 'deployment/dep', '--timeout=60s']);
    assert.equal(await s.k(['get', 'deployment', 'dep', '-o', 'jsonpath={.status.availableReplicas}']), '2');
    const nodes = await s.k(['get', 'pods', '-l', 'app=dep', '-o', 'jsonpath={.items[*].spec.nodeName}']);
    assert.deepEqual(nodes.split(' '), [s.node, s.node]);
  });

  it('an image built with docker build on the same engine runs in a Pod (IfNotPresent, no import)', async () => {
    const ctx = join(s.dir, 'build');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'FROM busybox:latest\nRUN echo built-by-docker-build > /msg\nCMD ["sh", "-c", "cat /msg; exec sleep 3600"]\n',
    );
    const tag = `skiff-e2e/built-${s.sfx}:v1`;
    execFileSync('docker', ['build', '-q', '-t', tag, ctx], {
      env: {
        ...process.env,
        DOCKER_HOST: `unix://${s.engineSock}`,
        DOCKER_BUILDKIT: '0',
        DOCKER_CONFIG: join(s.dir, 'dc'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await s.k(['run', 'built', `--image=${tag}`, '--image-pull-policy=IfNotPresent']);
    await s.k(['wait', '--for=condition=Ready', 'pod/built', '--timeout=60s']);
    assert.equal(await s.k(['logs', 'built']), 'built-by-docker-build\n');
    const events = await s.k([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=built',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    assert.match(events, new RegExp(`Container image "${tag}" already present on machine`));
  });

  it('a crashing container goes to CrashLoopBackOff', async () => {
    await s.apply(`
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "echo bye; exit 3"]}
`);
    await until('CrashLoopBackOff', async () => {
      const r = await s.k([
        'get',
        'pod',
        'crash',
        '-o',
        'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
      ]);
      return r === 'CrashLoopBackOff';
    });
    assert.equal(
      await s.k(['get', 'pod', 'crash', '-o', 'jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}']),
      '3',
    );
    assert.match(await s.k(['get', 'pod', 'crash']), /crash\s+0\/1\s+CrashLoopBackOff\s+\d+ \(/);
    assert.equal(await s.k(['logs', 'crash', '--previous']), 'bye\n');
  });

  it('kubectl delete waits for the container: its own exit on TERM, or the grace period', async () => {
    // One pod exits on SIGTERM (with a 30 s grace period: the delete must not wait for it), one
    // ignores SIGTERM (grace period 3 s: the delete takes that long, then SIGKILL).
    await s.apply(`
apiVersion: v1
kind: Pod
metadata: {name: polite}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - {name: main, image: busybox:latest, imagePullPolicy: IfNotPresent,
     command: ["sh", "-c", "trap 'exit 0' TERM; echo up; while true; do sleep 0.2; done"]}
---
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - {name: main, image: busybox:latest, imagePullPolicy: IfNotPresent,
     command: ["sh", "-c", "trap '' TERM; echo up; while true; do sleep 0.2; done"]}
`);
    await s.k(['wait', '--for=condition=Ready', 'pod/polite', 'pod/stubborn', '--timeout=60s']);
    await until(
      'both shells trap TERM',
      async () => (await s.k(['logs', 'polite'])) && (await s.k(['logs', 'stubborn'])),
    );
    const timed = async (pod: string) => {
      const t0 = Date.now();
      await s.k(['delete', 'pod', pod, '--timeout=60s']);
      return (Date.now() - t0) / 1000;
    };
    const [polite, stubborn] = await Promise.all([timed('polite'), timed('stubborn')]);
    assert.ok(polite < 10, `a pod that exits on TERM is deleted without waiting its 30 s grace period (${polite} s)`);
    assert.ok(
      stubborn >= 3,
      `a pod that ignores TERM is killed after its 3 s grace period, not before (${stubborn} s)`,
    );
    assert.ok(stubborn < 15, `and then at once (${stubborn} s)`);
  });

  it('deleting everything leaves nothing behind on the host', async () => {
    const uids = (await s.k(['get', 'pods', '-o', 'jsonpath={.items[*].metadata.uid}'])).split(' ').filter(Boolean);
    assert.ok(uids.length >= 4, `web, crash, built and the Deployment's pods: ${uids.length}`);
    await s.k(['delete', 'deployment', 'dep']);
    // httpd and sleep as PID 1 ignore SIGTERM: a short grace period instead of their 30 s.
    await s.k(['delete', 'pods', '--all', '--grace-period=1', '--timeout=60s']);
    await until('no pods', async () => (await s.k(['get', 'pods', '-o', 'name'])) === '');
    for (const uid of uids) await s.noTraces(uid);
    // No veth on the pod bridge; no container root, sandbox file or volume mounted.
    await until(
      'no veth on the pod bridge',
      async () =>
        execFileSync('ip', ['-o', 'link', 'show', 'master', `skp${s.sfx}`], { encoding: 'utf8' }).trim() === '',
    );
    await until('no mounts', async () => s.mounts().length === 0, 10_000).catch(() => assert.deepEqual(s.mounts(), []));
  });
});
