// The real helm 3 client against `skiff start` (scripts/build-helm.sh builds it from the Go module
// proxy): a chart with a ConfigMap, a Secret, a Deployment of real busybox pods, a Service, a
// pre-install/pre-upgrade hook Job and a test hook Pod goes through install --wait, test,
// upgrade --wait, rollback --wait, history and uninstall --wait, as users drive a k3s node; an
// invalid chart fails with the API server's own validation message and leaves no release.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NS = 'helmcheck';
let s: SkiffStart;
let helmBin = '';
let home = '';

const CHART: Record<string, string> = {
  'Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: "1.0"\n',
  'values.yaml': 'replicas: 2\nmessage: hello\nport: 80\n',
  'templates/configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-cfg}
data: {index.html: {{ .Values.message | quote }}}
`,
  'templates/secret.yaml': `apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-secret}
stringData: {token: {{ printf "%s-token" .Values.message | quote }}}
`,
  'templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app.kubernetes.io/name: demo, app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app.kubernetes.io/instance: {{ .Release.Name }}}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: {{ .Release.Name }}}
      annotations: {checksum/config: {{ .Values.message | sha256sum | quote }}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: [httpd, -f, -p, "8080", -h, /www]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
        volumeMounts: [{name: www, mountPath: /www}]
      volumes: [{name: www, configMap: {name: {{ .Release.Name }}-cfg}}]
`,
  'templates/service.yaml': `apiVersion: v1
kind: Service
metadata: {name: {{ .Release.Name }}}
spec:
  selector: {app.kubernetes.io/instance: {{ .Release.Name }}}
  ports: [{port: {{ .Values.port }}, targetPort: http}]
`,
  'templates/hook-job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: m, image: busybox:latest, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo migrated"]}
`,
  'templates/tests/test-connection.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations: {helm.sh/hook: test, helm.sh/hook-delete-policy: before-hook-creation}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: wget
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "timeout 5 wget -qO- http://{{ .Release.Name }}:{{ .Values.port }}/ | grep -q {{ .Values.message }}"]
`,
};

function writeChart(dir: string, files: Record<string, string>): string {
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

const helm = (args: string[], timeoutMs = 180_000) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      helmBin,
      [...args, '--kubeconfig', s.kubeconfig, '-n', NS],
      {
        timeout: timeoutMs,
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(home, 'cache'),
          HELM_CONFIG_HOME: join(home, 'config'),
          HELM_DATA_HOME: join(home, 'data'),
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
const mustHelm = async (args: string[]) => {
  const r = await helm(args);
  assert.equal(r.code, 0, `helm ${args.join(' ')}:\n${r.out}`);
  return r.out;
};
const releaseSecrets = async () =>
  (await s.k(['get', 'secrets', '-n', NS, '-l', 'owner=helm', '-o', 'jsonpath={.items[*].metadata.name}']))
    .split(' ')
    .filter(Boolean)
    .sort();

before(async () => {
  const r = spawnSync(join(ROOT, 'scripts/build-helm.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('helm is required (scripts/build-helm.sh failed)');
  helmBin = r.stdout.trim().split('\n').pop()!;
  home = mkdtempSync(join(tmpdir(), 'skiff-helm-'));
  s = await startSkiff();
});
after(async () => {
  await s?.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
  if (s) assert.deepEqual(await s.stop(), []);
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('helm 3 on skiff start', () => {
  it('install, test, upgrade, rollback, history and uninstall of a chart with hooks', async () => {
    const chart = writeChart(join(home, 'demo'), CHART);
    await mustHelm(['install', 'demo', chart, '--create-namespace', '--wait', '--timeout', '150s']);
    assert.match(await mustHelm(['list']), /demo\s+helmcheck\s+1\s+.*deployed\s+demo-0\.1\.0\s+1\.0/);
    assert.equal(await s.k(['get', 'deploy', 'demo', '-n', NS, '-o', 'jsonpath={.status.readyReplicas}']), '2');
    assert.deepEqual(await releaseSecrets(), ['sh.helm.release.v1.demo.v1']);
    assert.equal(
      await s.k(['get', 'secret', 'sh.helm.release.v1.demo.v1', '-n', NS, '-o', 'jsonpath={.type}']),
      'helm.sh/release.v1',
    );
    // hook-succeeded: the hook Job is deleted once it completed
    assert.equal((await s.kubectl(['get', 'job', 'demo-migrate', '-n', NS])).code, 1);

    assert.match(await mustHelm(['test', 'demo', '--timeout', '90s']), /Phase:\s+Succeeded/);

    await mustHelm([
      'upgrade',
      'demo',
      chart,
      '--set',
      'message=world',
      '--set',
      'replicas=3',
      '--wait',
      '--timeout',
      '150s',
    ]);
    assert.equal(await s.k(['get', 'cm', 'demo-cfg', '-n', NS, '-o', 'jsonpath={.data.index\\.html}']), 'world');
    assert.equal(await s.k(['get', 'deploy', 'demo', '-n', NS, '-o', 'jsonpath={.status.readyReplicas}']), '3');
    assert.match(await mustHelm(['test', 'demo', '--timeout', '90s']), /Phase:\s+Succeeded/);

    await mustHelm(['rollback', 'demo', '1', '--wait', '--timeout', '150s']);
    assert.equal(await s.k(['get', 'cm', 'demo-cfg', '-n', NS, '-o', 'jsonpath={.data.index\\.html}']), 'hello');
    assert.equal(await s.k(['get', 'deploy', 'demo', '-n', NS, '-o', 'jsonpath={.spec.replicas}']), '2');
    const history = await mustHelm(['history', 'demo']);
    assert.match(history, /1\s+.*superseded.*\n2\s+.*superseded.*\n3\s+.*deployed.*Rollback to 1/s, history);
    assert.match(await mustHelm(['get', 'values', 'demo', '--all']), /message: hello/);
    assert.match(await mustHelm(['get', 'manifest', 'demo']), /kind: Deployment/);

    await mustHelm(['uninstall', 'demo', '--wait', '--timeout', '90s']);
    assert.deepEqual(await releaseSecrets(), []);
    for (const k of ['deploy/demo', 'svc/demo', 'cm/demo-cfg', 'secret/demo-secret'])
      assert.equal((await s.kubectl(['get', k, '-n', NS])).code, 1, `${k} removed`);
  });

  it("an invalid chart fails with the API server's message and leaves no release", async () => {
    const bad = writeChart(join(home, 'bad'), {
      ...CHART,
      'values.yaml': 'replicas: 1\nmessage: hello\nport: 70000\n',
    });
    const r = await helm(['install', 'bad', bad, '--wait', '--timeout', '60s']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /Service "bad" is invalid: spec\.ports\[0\]\.port: Invalid value: 70000/);
    const list = await mustHelm(['list', '--all']);
    assert.match(list, /bad\s+helmcheck\s+1\s+.*failed/);
    await mustHelm(['uninstall', 'bad', '--wait']);
    assert.deepEqual(await releaseSecrets(), []);
  });
});
