// The protobuf body decoder against bodies encoded from upstream's descriptors: every field of a
// Pod comes through (volumes, security contexts, probes — what the former hand-written table
// dropped), pointer zeros stay (runAsUser: 0, allowPrivilegeEscalation: false), plain zeros go,
// times, quantities and int-or-strings read as in JSON; an unknown kind is a clear 400.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { decodeProtobuf } from './protobuf.js';

const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(new URL('./proto/kube.json', import.meta.url), 'utf8')));
function frame(apiVersion: string, kind: string, type: string, obj: Record<string, unknown>): Uint8Array {
  const t = root.lookupType(type);
  const raw = t.encode(t.fromObject(obj)).finish();
  const u = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  const body = u.encode(u.fromObject({ typeMeta: { apiVersion, kind }, raw, contentType: '' })).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), body]);
}

describe('protobuf bodies', () => {
  it('decodes a whole Pod as JSON', () => {
    const pod = {
      metadata: { name: 'p', namespace: 'default', labels: { a: '' }, creationTimestamp: { seconds: 1765000000 } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            args: ['sh', ''],
            ports: [{ containerPort: 80, hostPort: 0, protocol: 'TCP', name: '' }],
            resources: { limits: { cpu: { string: '100m' } } },
            volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: false }],
            readinessProbe: {
              handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } },
              timeoutSeconds: 0,
            },
            securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, privileged: false },
            stdin: false,
            tty: false,
          },
        ],
        volumes: [
          { name: 'data', volumeSource: { emptyDir: {} } },
          {
            name: 'cfg',
            volumeSource: { configMap: { localObjectReference: { name: 'cm' }, defaultMode: 420, optional: false } },
          },
        ],
        hostPID: true,
        tolerations: [{ operator: 'Exists' }],
        restartPolicy: 'Never',
      },
    };
    const got = decodeProtobuf(frame('v1', 'Pod', 'k8s.io.api.core.v1.Pod', pod));
    assert.deepEqual(got, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', labels: { a: '' }, creationTimestamp: '2025-12-06T05:46:40Z' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            args: ['sh', ''],
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            resources: { limits: { cpu: '100m' } },
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
            readinessProbe: { httpGet: { path: '/', port: 'http' } },
            securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, privileged: false },
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'cm', defaultMode: 420, optional: false } },
        ],
        hostPID: true,
        tolerations: [{ operator: 'Exists' }],
        restartPolicy: 'Never',
      },
    });
  });

  it('reads kinds of other groups (policy, networking, scheduling) and meta kinds', () => {
    const pdb = decodeProtobuf(
      frame('policy/v1', 'PodDisruptionBudget', 'k8s.io.api.policy.v1.PodDisruptionBudget', {
        metadata: { name: 'b' },
        spec: { minAvailable: { type: 0, intVal: 1 }, selector: { matchLabels: { app: 'web' } } },
      }),
    );
    assert.deepEqual(pdb.spec, { minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
    const pc = decodeProtobuf(
      frame('scheduling.k8s.io/v1', 'PriorityClass', 'k8s.io.api.scheduling.v1.PriorityClass', {
        metadata: { name: 'hi' },
        value: 1000,
        globalDefault: false,
      }),
    );
    assert.deepEqual(pc, {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name: 'hi' },
      value: 1000,
    });
    const secret = decodeProtobuf(
      frame('v1', 'Secret', 'k8s.io.api.core.v1.Secret', { metadata: { name: 's' }, data: { k: Buffer.from('v') } }),
    );
    assert.deepEqual(secret.data, { k: 'dg==' });
  });

  it('rejects what it cannot read with a 400', () => {
    assert.throws(
      () => decodeProtobuf(frame('example.com/v1', 'Widget', 'k8s.io.api.core.v1.Pod', {})),
      (e: any) => {
        return e.status === 400 || e.code === 400 || /no built-in kind Widget/.test(e.message);
      },
    );
    assert.throws(() => decodeProtobuf(Buffer.from('{}')), /k8s\\0 envelope/);
    assert.throws(() => decodeProtobuf(Buffer.from([0x6b, 0x38, 0x73, 0, 0x0a, 0x20])), /protobuf/);
  });
});
