// Workflows users run with the real kubectl 1.32 against a private `skiff start`, found broken
// while walking through upstream's common commands: the typed-client kinds that kubectl sends as
// protobuf (create pdb|ingress|priorityclass, debug --copy-to, debug node/…) arrive whole,
// `kubectl debug -it POD --target=CTR` runs an ephemeral container in the target's PID namespace;
// pods reach the API server through the `kubernetes` Service.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;
const ns = `exp-${Math.random().toString(36).slice(2, 7)}`;
const pc = `exp-pc-${Math.random().toString(36).slice(2, 7)}`;
const k = (...a: string[]) => s.k(['-n', ns, ...a], { timeoutMs: 120_000 });
const kr = (...a: string[]) => s.kubectl(['-n', ns, ...a], { timeoutMs: 120_000 });
const BB = ['--image=busybox:latest', '--image-pull-policy=IfNotPresent'];

before(async () => {
  s = await startSkiff();
  await s.k(['create', 'namespace', ns]);
});
after(async () => {
  await s?.kubectl(['delete', 'priorityclass', pc, '--ignore-not-found']);
  await s?.stop();
});

describe('kubectl workflows (explore)', () => {
  it('creates the kinds kubectl sends as protobuf: pdb, ingress, priorityclass', async () => {
    await k('create', 'pdb', 'pdb1', '--selector=app=web', '--min-available=1');
    assert.deepEqual(JSON.parse(await k('get', 'pdb', 'pdb1', '-o', 'jsonpath={.spec}')), {
      minAvailable: 1,
      selector: { matchLabels: { app: 'web' } },
    });
    await k('create', 'ingress', 'ing', '--rule=foo.example/bar=web:80', '--class=nginx');
    const ing = JSON.parse(await k('get', 'ingress', 'ing', '-o', 'json'));
    assert.equal(ing.spec.ingressClassName, 'nginx');
    assert.deepEqual(ing.spec.rules[0].http.paths[0], {
      path: '/bar',
      pathType: 'Exact',
      backend: { service: { name: 'web', port: { number: 80 } } },
    });
    await s.k(['create', 'priorityclass', pc, '--value=1000', '--description=explore', '--preemption-policy=Never']);
    const p = JSON.parse(await s.k(['get', 'priorityclass', pc, '-o', 'json']));
    assert.deepEqual([p.value, p.description, p.preemptionPolicy], [1000, 'explore', 'Never']);
  });

  it('kubectl debug --copy-to keeps the whole pod spec; kubectl debug node/… runs', async () => {
    await s.apply(`apiVersion: v1
kind: Pod
metadata: {name: src, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 0}
  containers:
  - name: c
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo data > /cfg/f; sleep 3600']
    volumeMounts: [{name: cfg, mountPath: /cfg}]
    readinessProbe: {exec: {command: ['true']}, periodSeconds: 2}
  volumes:
  - {name: cfg, emptyDir: {}}
`);
    await k('wait', '--for=condition=Ready', 'pod/src', '--timeout=90s');
    await k('debug', 'src', '--copy-to=src-copy', ...BB, '--container=dbg', '--', 'sleep', '3600');
    await k('wait', '--for=condition=Ready', 'pod/src-copy', '--timeout=90s');
    const copy = JSON.parse(await k('get', 'pod', 'src-copy', '-o', 'json'));
    assert.deepEqual(
      copy.spec.containers.map((c: any) => c.name),
      ['c', 'dbg'],
    );
    assert.deepEqual(copy.spec.containers[0].volumeMounts[0], { name: 'cfg', mountPath: '/cfg' });
    assert.deepEqual(copy.spec.containers[0].readinessProbe.exec, { command: ['true'] });
    assert.equal(copy.spec.securityContext.runAsUser, 0);
    assert.ok(copy.spec.volumes.some((v: any) => v.name === 'cfg' && v.emptyDir));
    assert.equal((await k('exec', 'src-copy', '-c', 'c', '--', 'cat', '/cfg/f')).trim(), 'data');

    const r = await kr('debug', `node/${s.node}`, ...BB, '--', 'sh', '-c', 'test -d /host/proc && echo host-root');
    assert.equal(r.code, 0, r.stderr);
    const pod = /Creating debugging pod (\S+)/.exec(r.stdout + r.stderr)?.[1];
    assert.ok(pod, r.stdout + r.stderr);
    await k('wait', '--for=jsonpath={.status.phase}=Succeeded', `pod/${pod}`, '--timeout=90s');
    assert.equal((await k('logs', pod!)).trim(), 'host-root');
    const spec = JSON.parse(await k('get', 'pod', pod!, '-o', 'json')).spec;
    assert.deepEqual([spec.nodeName, spec.hostPID, spec.hostNetwork], [s.node, true, true]);
  });

  it('pods reach the API server at kubernetes.default.svc (its EndpointSlice exists)', async () => {
    const slice = JSON.parse(await s.k(['-n', 'default', 'get', 'endpointslice', 'kubernetes', '-o', 'json']));
    assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'kubernetes');
    assert.equal(slice.ports[0].name, 'https');
    await k('run', 'cli', ...BB, '--', 'sleep', '3600');
    await k('wait', '--for=condition=Ready', 'pod/cli', '--timeout=90s');
    // A TCP connection through the service (busybox's TLS cannot talk to the server's ciphers).
    const r = await kr('exec', 'cli', '--', 'sh', '-c', 'echo | nc -w 5 kubernetes.default.svc 443 && echo connected');
    assert.equal(r.stdout.trim(), 'connected', r.stderr);
  });

  it('kubectl debug -it POD --target=CTR runs a shell in the target PID namespace; logs -c, never restarted', async () => {
    await k('run', 'tgt', ...BB, '--', 'sleep', '3601');
    await k('wait', '--for=condition=Ready', 'pod/tgt', '--timeout=90s');
    // As a user types it; stdin is piped (kubectl warns it cannot use a TTY and goes on).
    const r = await s.kubectl(['-n', ns, 'debug', '-it', 'tgt', ...BB, '--target=tgt', '--container=dbg', '--', 'sh'], {
      input: 'ps -o pid,args\necho done-$((6*7))\nexit\n',
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s+1 sleep 3601$/m, 'sees the target container PID 1');
    assert.match(r.stdout, /^done-42$/m);
    const pod = JSON.parse(await k('get', 'pod', 'tgt', '-o', 'json'));
    assert.deepEqual(
      [pod.spec.ephemeralContainers[0].name, pod.spec.ephemeralContainers[0].targetContainerName],
      ['dbg', 'tgt'],
    );
    const st = pod.status.ephemeralContainerStatuses[0];
    assert.equal(st.name, 'dbg');
    assert.equal(st.state.terminated?.exitCode, 0, JSON.stringify(st));
    assert.match(await k('logs', 'tgt', '-c', 'dbg'), /done-42/);
    const ev = await k(
      'get',
      'events',
      '--field-selector',
      'involvedObject.fieldPath=spec.ephemeralContainers{dbg}',
      '-o',
      'jsonpath={.items[*].reason}',
    );
    assert.deepEqual(ev.split(' ').sort(), ['Created', 'Pulled', 'Started']);
    // A second debug container beside it; the first is never restarted and the pod runs on.
    await k('debug', 'tgt', ...BB, '--container=dbg2', '--', 'sleep', '3600');
    await k(
      'wait',
      '--for=jsonpath={.status.ephemeralContainerStatuses[1].state.running.startedAt}',
      'pod/tgt',
      '--timeout=60s',
    );
    const again = JSON.parse(await k('get', 'pod', 'tgt', '-o', 'json')).status;
    assert.equal(again.ephemeralContainerStatuses[0].state.terminated?.exitCode, 0);
    assert.equal(again.ephemeralContainerStatuses[0].restartCount, 0);
    assert.deepEqual([again.phase, again.containerStatuses[0].restartCount], ['Running', 0]);
  });
});
