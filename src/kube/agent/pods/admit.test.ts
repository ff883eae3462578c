// Admission arithmetic: upstream's effective pod request (init containers' peak, sidecars, overhead)
// and the order of the fit checks (pods, cpu, memory, ephemeral-storage), with upstream's messages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod } from '../types.js';
import { byCreation, canAdmit, podRequests } from './admit.js';

const c = (name: string, cpu?: string, memory?: string, extra: Partial<Container> = {}): Container => ({
  name,
  image: 'busybox',
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
  ...extra,
});
const pod = (name: string, spec: Partial<Pod['spec']> = {}, created = '2026-01-01T00:00:00Z'): Pod => ({
  metadata: { name, namespace: 'default', uid: name, creationTimestamp: created },
  spec: { containers: [c('main')], ...spec },
});
const alloc = { pods: 3, cpuMilli: 2000, memory: 1 << 30, ephemeralStorage: 10 * 2 ** 30 };

describe('pod admission', () => {
  it('sums containers, takes the init peak beside earlier sidecars, adds overhead', () => {
    assert.deepEqual(podRequests(pod('a', { containers: [c('x', '100m', '1Mi'), c('y', '200m')] })), {
      cpuMilli: 300,
      memory: 1 << 20,
      ephemeralStorage: 0,
    });
    // An init container needing more than the containers sets the pod's request.
    assert.deepEqual(
      podRequests(pod('b', { initContainers: [c('i', '1', '10Mi')], containers: [c('x', '100m', '20Mi')] })),
      { cpuMilli: 1000, memory: 20 << 20, ephemeralStorage: 0 },
    );
    // A sidecar runs beside the init containers after it and beside the containers.
    assert.deepEqual(
      podRequests(
        pod('s', {
          initContainers: [c('side', '100m', undefined, { restartPolicy: 'Always' }), c('i', '500m')],
          containers: [c('x', '300m')],
          overhead: { cpu: '10m' },
        }),
      ),
      { cpuMilli: 610, memory: 0, ephemeralStorage: 0 },
    );
  });

  it('checks pods, then cpu, then memory, then ephemeral-storage, with upstream messages', () => {
    const full = [pod('1'), pod('2'), pod('3')];
    assert.deepEqual(canAdmit(pod('n', { containers: [c('x', '9')] }), full, alloc), {
      reason: 'OutOfpods',
      message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3",
    });
    const busy = [pod('1', { containers: [c('x', '1500m', '512Mi')] })];
    assert.deepEqual(canAdmit(pod('n', { containers: [c('x', '600m', '1Gi')] }), busy, alloc), {
      reason: 'OutOfcpu',
      message: "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000",
    });
    assert.deepEqual(canAdmit(pod('n', { containers: [c('x', '500m', '600Mi')] }), busy, alloc), {
      reason: 'OutOfmemory',
      message: `Node didn't have enough resource: memory, requested: ${600 << 20}, used: ${512 << 20}, capacity: ${1 << 30}`,
    });
    assert.equal(canAdmit(pod('n', { containers: [c('x', '500m', '512Mi')] }), busy, alloc), undefined);
    const disk = (n: string, size: string) =>
      pod(n, { containers: [{ ...c('x'), resources: { requests: { 'ephemeral-storage': size } } }] });
    assert.deepEqual(canAdmit(disk('n', '4Gi'), [disk('1', '7Gi')], alloc), {
      reason: 'OutOfephemeral-storage',
      message: `Node didn't have enough resource: ephemeral-storage, requested: ${4 * 2 ** 30}, used: ${7 * 2 ** 30}, capacity: ${10 * 2 ** 30}`,
    });
    assert.equal(canAdmit(disk('n', '3Gi'), [disk('1', '7Gi')], alloc), undefined);
    // A pod without requests needs only a place.
    assert.equal(canAdmit(pod('n'), [pod('1', { containers: [c('x', '2')] })], alloc), undefined);
  });

  it('orders pods by creation time', () => {
    const late = pod('a', {}, '2026-01-01T00:00:05Z');
    const early = pod('z', {}, '2026-01-01T00:00:01Z');
    assert.deepEqual(
      [late, early].sort(byCreation).map((p) => p.metadata.name),
      ['z', 'a'],
    );
  });
});
