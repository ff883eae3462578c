// Pods for real, the broad acceptance (npm run test:slow): a private `skiff start` and the real
// kubectl 1.32 (and docker CLI 28, and a real registry). The Node and its Lease; logs (-f, --tail,
// --timestamps, --since, --previous, --all-containers), exec -it and attach in a pty, exec and
// port-forward over SPDY (older clients) as well as WebSocket; liveness restarts with Unhealthy
// events; ErrImagePull then ImagePullBackOff with the registry's message; OOMKilled; configMap and
// secret volumes following updates; init containers first; emptyDir shared; a local-path PVC;
// kubectl top; an image made by docker build runs in a pod; SIGKILL of skiff start keeps pods
// running and adopted; deletion leaves nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../fixtures/distribution.js';
import { KUBECTL, startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;
let reg: Distribution;
const bb = 'image: busybox:latest\n    imagePullPolicy: IfNotPresent';

const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
};
const jp = (pod: string, path: string) => s.k(['get', 'pod', pod, '-o', `jsonpath={${path}}`]);
const pod = (name: string, body: string, extra = '') => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: ${s.node}
  terminationGracePeriodSeconds: 2
${extra}  containers:
${body}`;
const ready = (name: string) => s.k(['wait', '--for=condition=Ready', `pod/${name}`, '--timeout=90s']);
const events = async (name: string) =>
  s.k([
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${name}`,
    '-o',
    'jsonpath={range .items[*]}{.type} {.reason} {.message}{"\\n"}{end}',
  ]);
/** Runs kubectl in a pseudo-terminal (script(1)), feeding `input` after a delay; ends when the
 *  output matches `done` (or kubectl exits). */
const inPty = (args: string[], input: string, done: RegExp) =>
  new Promise<string>((resolve) => {
    const cmd = [KUBECTL, '--kubeconfig', s.kubeconfig, ...args].map((a) => `'${a}'`).join(' ');
    const p = spawn('script', ['-qc', cmd, '/dev/null']);
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      if (done.test(out)) p.kill();
    });
    setTimeout(() => p.stdin.write(input), 1500);
    const t = setTimeout(() => p.kill(), 20_000);
    p.on('exit', () => {
      clearTimeout(t);
      resolve(out.replace(/\r/g, ''));
    });
  });
const httpGet = (url: string) =>
  new Promise<string>((resolve, reject) =>
    http
      .get(url, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject),
  );

before(async () => {
  [s, reg] = await Promise.all([startSkiff(), startDistribution()]);
});
after(async () => {
  await s?.stop();
  await reg?.stop();
});

describe('pods on a real node, broad (kubectl 1.32)', () => {
  it('registers the Node with its labels, capacity, conditions and Lease', async () => {
    const n = JSON.parse(await s.k(['get', 'node', s.node, '-o', 'json']));
    assert.equal(n.metadata.labels['node-role.kubernetes.io/control-plane'], '');
    assert.equal(n.metadata.labels['kubernetes.io/hostname'], s.node);
    assert.equal(n.spec.podCIDR, s.podCidr);
    assert.equal(n.status.capacity.pods, '110');
    assert.match(n.status.capacity.memory, /^\d+Ki$/);
    assert.equal(n.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
    assert.match(await s.k(['get', 'nodes']), new RegExp(`${s.node}\\s+Ready\\s+control-plane`));
    const lease = JSON.parse(await s.k(['get', 'lease', '-n', 'kube-node-lease', s.node, '-o', 'json']));
    assert.equal(lease.spec.holderIdentity, s.node);
  });

  it('logs: -f, --tail, --timestamps, --since, --all-containers', async () => {
    await s.apply(
      pod(
        'talker',
        `  - name: a
    ${bb}
    command: ["sh", "-c", "for i in 1 2 3; do echo a-line-$i; done; while true; do echo tick; sleep 1; done"]
  - name: b
    ${bb}
    command: ["sh", "-c", "echo b-only; sleep 3600"]
`,
      ),
    );
    await ready('talker');
    await until('three lines', async () => (await s.k(['logs', 'talker', '-c', 'a'])).includes('a-line-3'));
    assert.equal(await s.k(['logs', 'talker', '-c', 'b', '--tail=1']), 'b-only\n');
    assert.match(await s.k(['logs', 'talker', '-c', 'b', '--timestamps']), /^\d{4}-\d\d-\d\dT[\d:.]+Z b-only\n$/);
    const all = await s.k(['logs', 'talker', '--all-containers']);
    assert.ok(all.includes('a-line-1') && all.includes('b-only'));
    assert.equal(await s.k(['logs', 'talker', '-c', 'b', '--since=1h']), 'b-only\n');
    const f = spawn(KUBECTL, ['--kubeconfig', s.kubeconfig, 'logs', '-f', 'talker', '-c', 'a', '--tail=0']);
    let got = '';
    f.stdout.on('data', (d) => (got += d));
    await until('followed ticks', async () => got.split('tick').length > 2, 15_000);
    f.kill();
  });

  it('exec -it and attach in a pty; exec and port-forward over SPDY too', async () => {
    const it1 = await inPty(
      ['exec', '-it', 'talker', '-c', 'b', '--', 'sh'],
      'echo in-pty-$((6*7)); tty; exit\n',
      /\/dev\/pts\/\d+/,
    );
    assert.match(it1, /in-pty-42/);
    assert.match(it1, /\/dev\/pts\/\d+/);
    const spdy = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
    const r = execFileSync(
      KUBECTL,
      ['--kubeconfig', s.kubeconfig, 'exec', 'talker', '-c', 'b', '--', 'echo', 'via-spdy'],
      {
        encoding: 'utf8',
        env: { ...process.env, ...spdy },
      },
    );
    assert.equal(r, 'via-spdy\n');
    await s.apply(
      pod(
        'attachme',
        `  - name: main
    ${bb}
    stdin: true
    tty: true
    command: ["sh"]
`,
      ),
    );
    await ready('attachme');
    const at = await inPty(['attach', '-it', 'attachme'], 'echo attached-$((2+3))\n', /attached-5/);
    assert.match(at, /attached-5/);
    await s.apply(
      pod(
        'httpd',
        `  - name: main
    ${bb}
    command: ["sh", "-c", "mkdir -p /w && echo pf > /w/index.html && exec httpd -f -p 8080 -h /w"]
`,
      ),
    );
    await ready('httpd');
    for (const env of [{}, spdy]) {
      const pf = spawn(KUBECTL, ['--kubeconfig', s.kubeconfig, 'port-forward', 'pod/httpd', ':8080'], {
        env: { ...process.env, ...env },
      });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let o = '';
          pf.stdout.on('data', (d) => {
            o += d;
            const m = /127\.0\.0\.1:(\d+)/.exec(o);
            if (m) resolve(Number(m[1]));
          });
          pf.once('exit', () => reject(new Error(o)));
        });
        assert.equal(await httpGet(`http://127.0.0.1:${port}/`), 'pf\n');
      } finally {
        pf.kill();
      }
    }
  });

  it('a failing liveness probe restarts the container, with Unhealthy events', async () => {
    await s.apply(
      pod(
        'live',
        `  - name: main
    ${bb}
    command: ["sh", "-c", "touch /ok; sleep 3600"]
    livenessProbe: {exec: {command: ["cat", "/ok"]}, periodSeconds: 1, failureThreshold: 2}
`,
      ),
    );
    await ready('live');
    await s.k(['exec', 'live', '--', 'rm', '/ok']);
    await until('restart', async () => Number(await jp('live', '.status.containerStatuses[0].restartCount')) >= 1);
    const ev = await events('live');
    assert.match(ev, /Warning Unhealthy Liveness probe failed: cat: can't open '\/ok': No such file or directory/);
    assert.match(ev, /Normal Killing Container main failed liveness probe, will be restarted/);
  });

  it('an image that does not exist: ErrImagePull, then ImagePullBackOff with the registry message', async () => {
    const image = `${reg.host}/nothing/here:v1`;
    await s.apply(pod('noimage', `  - name: main\n    image: ${image}\n`));
    const msg = await until('ImagePullBackOff', async () => {
      const r = await jp('noimage', '.status.containerStatuses[0].state.waiting.reason');
      return r === 'ImagePullBackOff' && jp('noimage', '.status.containerStatuses[0].state.waiting.message');
    });
    assert.match(
      msg,
      new RegExp(
        `^Back-off pulling image "${image.replace(/\./g, '\\.')}": ErrImagePull: .*(manifest unknown|not found)`,
        'i',
      ),
    );
    const ev = await events('noimage');
    assert.match(ev, /Warning Failed Error: ErrImagePull/);
    assert.match(ev, /Normal BackOff Back-off pulling image/);
    assert.match(ev, /Warning Failed Error: ImagePullBackOff/);
  });

  it('a memory hog is OOMKilled', async () => {
    await s.apply(
      pod(
        'hog',
        `  - name: main
    ${bb}
    command: ["sh", "-c", "x=a; while true; do x=$x$x; done"]
    resources: {limits: {memory: 32Mi}}
`,
        '  restartPolicy: Never\n',
      ),
    );
    await until(
      'OOMKilled',
      async () => (await jp('hog', '.status.containerStatuses[0].state.terminated.reason')) === 'OOMKilled',
    );
    assert.equal(await jp('hog', '.status.phase'), 'Failed');
    assert.match(await s.k(['get', 'pod', 'hog']), /OOMKilled/);
  });

  it('configMap and secret volumes follow updates within a minute', async () => {
    await s.k(['create', 'configmap', 'cfg', '--from-literal=greeting=hello']);
    await s.k(['create', 'secret', 'generic', 'sec', '--from-literal=password=one']);
    await s.apply(
      pod(
        'volpod',
        `  - name: main
    ${bb}
    command: ["sleep", "3600"]
    volumeMounts: [{name: c, mountPath: /etc/cfg}, {name: s, mountPath: /etc/sec}]
`,
        '  volumes:\n  - {name: c, configMap: {name: cfg}}\n  - {name: s, secret: {secretName: sec}}\n',
      ),
    );
    await ready('volpod');
    assert.equal(await s.k(['exec', 'volpod', '--', 'cat', '/etc/cfg/greeting']), 'hello');
    assert.equal(await s.k(['exec', 'volpod', '--', 'cat', '/etc/sec/password']), 'one');
    // Secrets are on tmpfs, as upstream.
    assert.match(await s.k(['exec', 'volpod', '--', 'sh', '-c', 'grep /etc/sec /proc/mounts']), /tmpfs/);
    await s.k(['patch', 'configmap', 'cfg', '-p', '{"data":{"greeting":"bonjour"}}']);
    await s.k(['patch', 'secret', 'sec', '-p', `{"data":{"password":"${Buffer.from('two').toString('base64')}"}}`]);
    const t0 = Date.now();
    await until(
      'configmap updated',
      async () => (await s.k(['exec', 'volpod', '--', 'cat', '/etc/cfg/greeting'])) === 'bonjour',
    );
    await until(
      'secret updated',
      async () => (await s.k(['exec', 'volpod', '--', 'cat', '/etc/sec/password'])) === 'two',
    );
    assert.ok(Date.now() - t0 < 60_000);
  });

  it('init containers run first; emptyDir is shared between containers', async () => {
    await s.apply(
      pod(
        'initpod',
        `  - name: main
    ${bb}
    command: ["sh", "-c", "echo main >> /work/order; sleep 3600"]
    volumeMounts: [{name: w, mountPath: /work}]
  - name: peer
    ${bb}
    command: ["sh", "-c", "sleep 3600"]
    volumeMounts: [{name: w, mountPath: /shared}]
`,
        `  volumes: [{name: w, emptyDir: {}}]
  initContainers:
  - name: first
    ${bb}
    command: ["sh", "-c", "echo first >> /work/order"]
    volumeMounts: [{name: w, mountPath: /work}]
  - name: second
    ${bb}
    command: ["sh", "-c", "echo second >> /work/order"]
    volumeMounts: [{name: w, mountPath: /work}]
`,
      ),
    );
    await ready('initpod');
    assert.equal(await s.k(['exec', 'initpod', '-c', 'peer', '--', 'cat', '/shared/order']), 'first\nsecond\nmain\n');
    await s.k(['exec', 'initpod', '-c', 'peer', '--', 'sh', '-c', 'echo from-peer > /shared/x']);
    assert.equal(await s.k(['exec', 'initpod', '-c', 'main', '--', 'cat', '/work/x']), 'from-peer\n');
    assert.match(
      await s.k(['get', 'pod', 'initpod', '-o', 'jsonpath={.status.initContainerStatuses[*].state.terminated.reason}']),
      /^Completed Completed$/,
    );
  });

  it('hostUsers: false runs the pod in a user namespace of its own (root inside, a 65536-id range outside)', async () => {
    await s.apply(
      pod(
        'usernspod',
        `  - name: main
    ${bb}
    command: ["sh", "-c", "echo hi > /scratch/f; sleep 3600"]
    volumeMounts: [{name: w, mountPath: /scratch}]
`,
        `  hostUsers: false
  volumes: [{name: w, emptyDir: {}}]
`,
      ),
    );
    await ready('usernspod');
    const ex = (...cmd: string[]) => s.k(['exec', 'usernspod', '--', ...cmd]);
    assert.equal((await ex('id', '-u')).trim(), '0');
    const [inside, outside, length] = (await ex('cat', '/proc/self/uid_map')).trim().split(/\s+/).map(Number);
    assert.equal(inside, 0);
    assert.equal(length, 65536);
    assert.ok(outside >= 65536 && outside % 65536 === 0, `a range of kubelet's: host id ${outside}`);
    // the image's files are root's; the emptyDir and the service account token are usable
    assert.equal((await ex('stat', '-c', '%u', '/bin/busybox')).trim(), '0');
    assert.equal(await ex('cat', '/scratch/f'), 'hi\n');
    assert.equal(await ex('cat', '/var/run/secrets/kubernetes.io/serviceaccount/namespace'), 'default');
  });

  it('security contexts, host network, a sidecar and the downward API in env', async () => {
    await s.apply(
      pod(
        'secure',
        `  - name: main
    ${bb}
    command: ["sleep", "3600"]
    env:
    - {name: MY_POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    resources: {limits: {memory: 64Mi}}
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`,
        `  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000]}
  volumes: [{name: scratch, emptyDir: {}}]
  initContainers:
  - name: side
    ${bb}
    restartPolicy: Always
    command: ["sleep", "3600"]
`,
      ),
    );
    await ready('secure');
    const id = await s.k(['exec', 'secure', '-c', 'main', '--', 'id']);
    assert.match(id, /^uid=1000 gid=3000 groups=/);
    assert.match(id, /2000/);
    assert.match(id, /4000/);
    const ro = await s.kubectl(['exec', 'secure', '-c', 'main', '--', 'touch', '/nope']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr + ro.stdout, /Read-only file system/);
    await s.k(['exec', 'secure', '-c', 'main', '--', 'touch', '/scratch/ok']);
    assert.match(
      await s.k(['exec', 'secure', '-c', 'main', '--', 'grep', 'CapEff', '/proc/self/status']),
      /0000000000000000/,
    );
    const env = await s.k(['exec', 'secure', '-c', 'main', '--', 'env']);
    assert.match(env, /^MY_POD=secure$/m);
    assert.match(env, new RegExp(`^MY_IP=${(await jp('secure', '.status.podIP')).replace(/\./g, '\\.')}$`, 'm'));
    assert.match(env, /^MEM_MI=64$/m);
    assert.equal(await jp('secure', '.status.initContainerStatuses[0].started'), 'true');
    assert.ok(await jp('secure', '.status.initContainerStatuses[0].state.running.startedAt'));
    await s.apply(
      pod('hostnet', `  - name: main\n    ${bb}\n    command: ["sleep", "3600"]\n`, '  hostNetwork: true\n'),
    );
    await ready('hostnet');
    assert.equal(await jp('hostnet', '.status.podIP'), '127.0.0.1');
    assert.match(
      await s.k(['exec', 'hostnet', '--', 'cat', '/etc/hosts']),
      /^# Kubernetes-managed hosts file \(host network\)\./,
    );
  });

  it('hooks, startup/readiness/liveness probes of three kinds, env from configMap and secret', async () => {
    const marks = join(s.dir, 'marks');
    await s.apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: envcm}
data: {COLOR: blue, SIZE: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: envsec}
stringData: {TOKEN: s3cret}
---
${pod(
  'hooks',
  `  - name: main
    ${bb}
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && sleep 2 && touch /tmp/started && exec httpd -f -p 8080 -h /www"]
    envFrom: [{prefix: CM_, configMapRef: {name: envcm}}]
    env:
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: envsec, key: TOKEN}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: envcm, key: COLOR}}}
    - {name: ABSENT, valueFrom: {configMapKeyRef: {name: envcm, key: nope, optional: true}}}
    lifecycle:
      postStart: {exec: {command: ["sh", "-c", "echo post > /marks/post"]}}
      preStop: {exec: {command: ["sh", "-c", "echo pre > /marks/pre"]}}
    startupProbe: {exec: {command: ["test", "-f", "/tmp/started"]}, periodSeconds: 1, failureThreshold: 30}
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
    livenessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
    volumeMounts: [{name: marks, mountPath: /marks}]
`,
  `  volumes: [{name: marks, hostPath: {path: ${marks}, type: DirectoryOrCreate}}]\n`,
)}
---
${pod(
  'badenv',
  `  - name: main
    ${bb}
    command: ["sleep", "3600"]
    env: [{name: X, valueFrom: {configMapKeyRef: {name: envcm, key: nope}}}]
`,
)}`);
    await ready('hooks');
    // The postStart hook ran before the container counted as started; the startup probe held
    // readiness back until /tmp/started appeared (2 s after the start).
    assert.equal(readFileSync(join(marks, 'post'), 'utf8'), 'post\n');
    const p = JSON.parse(await s.k(['get', 'pod', 'hooks', '-o', 'json']));
    const startedAt = Date.parse(p.status.containerStatuses[0].state.running.startedAt);
    const readyAt = Date.parse(
      p.status.conditions.find((c: { type: string }) => c.type === 'Ready').lastTransitionTime,
    );
    assert.ok(
      readyAt - startedAt >= 1000,
      `Ready ${readyAt - startedAt} ms after the start, not before the startup probe`,
    );
    assert.equal(p.status.containerStatuses[0].started, true);
    assert.equal(p.status.containerStatuses[0].restartCount, 0, 'the liveness probe passes');
    const env = await s.k(['exec', 'hooks', '--', 'env']);
    for (const line of ['CM_COLOR=blue', 'CM_SIZE=3', 'TOKEN=s3cret', 'COLOR=blue'])
      assert.match(env, new RegExp(`^${line}$`, 'm'));
    assert.doesNotMatch(env, /^ABSENT=/m);
    // A required key that is missing: CreateContainerConfigError with kubelet's message.
    const w = await until('CreateContainerConfigError', async () => {
      const st = JSON.parse(await jp('badenv', '.status.containerStatuses[0].state.waiting'));
      return st.reason === 'CreateContainerConfigError' && st;
    });
    assert.equal(w.message, "couldn't find key nope in ConfigMap default/envcm");
    // preStop runs before the container is stopped (httpd as PID 1 ignores SIGTERM: killed at 2 s).
    await s.k(['delete', 'pod', 'hooks', 'badenv', '--timeout=60s']);
    assert.equal(readFileSync(join(marks, 'pre'), 'utf8'), 'pre\n');
  });

  it('restart back-off: 10 s, then doubled', async () => {
    await s.apply(pod('backoff', `  - name: main\n    ${bb}\n    command: ["sh", "-c", "exit 1"]\n`));
    const seen = new Map<number, number>();
    let message = '';
    const end = Date.now() + 60_000;
    while (!seen.has(3) && Date.now() < end) {
      const st = JSON.parse((await jp('backoff', '.status.containerStatuses[0]').catch(() => '{}')) || '{}');
      if (typeof st.restartCount === 'number' && !seen.has(st.restartCount)) seen.set(st.restartCount, Date.now());
      if (st.restartCount === 2 && st.state?.waiting?.message) message = st.state.waiting.message;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(seen.has(1) && seen.has(2) && seen.has(3), `restarts seen: ${[...seen.keys()]}`);
    const first = (seen.get(2)! - seen.get(1)!) / 1000;
    const second = (seen.get(3)! - seen.get(2)!) / 1000;
    assert.ok(first >= 8 && first <= 14, `second restart ${first} s after the first (10 s back-off)`);
    assert.ok(second >= 18 && second <= 25, `third restart ${second} s after the second (20 s back-off)`);
    assert.match(message, /^back-off 20s restarting failed container=main pod=backoff_default\(/);
    assert.match(
      await events('backoff'),
      /Warning BackOff Back-off restarting failed container main in pod backoff_default\(/,
    );
    await s.k(['delete', 'pod', 'backoff', '--timeout=60s']);
  });

  it('a PersistentVolumeClaim on local-path', async () => {
    await s.apply(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`);
    await s.apply(
      pod(
        'pvc',
        `  - name: main
    ${bb}
    command: ["sh", "-c", "echo persisted > /data/f; sleep 3600"]
    volumeMounts: [{name: d, mountPath: /data}]
`,
        '  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n',
      ),
    );
    await ready('pvc');
    assert.equal(await s.k(['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}']), 'Bound');
    assert.equal(await s.k(['exec', 'pvc', '--', 'cat', '/data/f']), 'persisted\n');
  });

  it('kubectl top pod and node show numbers', async () => {
    const top = await until('top pod', async () => {
      const r = await s.kubectl(['top', 'pod', 'talker']);
      return r.code === 0 && r.stdout;
    });
    assert.match(top, /talker\s+\d+m\s+\d+Mi/);
    assert.match(await s.k(['top', 'node']), new RegExp(`${s.node}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));
  });

  it('an image built with docker build runs in a pod', async () => {
    const ctx = join(s.dir, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'FROM busybox:latest\nRUN echo built-by-docker > /msg\nCMD ["sh", "-c", "cat /msg; sleep 3600"]\n',
    );
    execFileSync('docker', ['-H', `unix://${s.engineSock}`, 'build', '-q', '-t', 'local/built:1', ctx], {
      encoding: 'utf8',
    });
    await s.apply(pod('built', '  - name: main\n    image: local/built:1\n    imagePullPolicy: IfNotPresent\n'));
    await ready('built');
    assert.equal(await s.k(['logs', 'built']), 'built-by-docker\n');
  });

  it('SIGKILL of skiff start keeps pods running; the restarted agent adopts them', async () => {
    const before = await jp('httpd', '.status.containerStatuses[0].containerID');
    const ip = await jp('httpd', '.status.podIP');
    await s.killAndRestart();
    assert.equal(await httpGet(`http://${ip}:8080/`), 'pf\n');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await jp('httpd', '.status.containerStatuses[0].containerID'), before);
    assert.equal(await jp('httpd', '.status.containerStatuses[0].restartCount'), '0');
    assert.equal(await s.k(['exec', 'httpd', '--', 'echo', 'still-here']), 'still-here\n');
  });

  it('deleting every pod leaves nothing behind', async () => {
    const uids = (await s.k(['get', 'pods', '-o', 'jsonpath={.items[*].metadata.uid}'])).split(' ').filter(Boolean);
    await s.k(['delete', 'pods', '--all', '--timeout=90s']);
    assert.equal(await s.k(['get', 'pods', '-o', 'name']), '');
    // A finished pod is deleted at once and cleaned up right after: allow the agent a moment.
    for (const uid of uids) await s.noTraces(uid);
    assert.equal(execFileSync('ip', ['-o', 'link', 'show', 'master', `skp${s.sfx}`], { encoding: 'utf8' }).trim(), '');
  });
});
