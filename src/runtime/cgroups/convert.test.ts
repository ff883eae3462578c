import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharesToWeight, blkioWeightToIoWeight, memorySwapToV2, normalizeCgroupPath } from './convert.js';
import { isSkiffError } from '../../common/index.js';

test('shares → weight follows runc (2→1, 1024→39, 262144→10000)', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(sharesToWeight(0), 0);
});

test('blkio weight → io weight (10→1, 1000→10000, 500→4950)', () => {
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
  assert.equal(blkioWeightToIoWeight(500), 4950);
});

test('OCI swap (memory+swap) → v2 swap only', () => {
  assert.equal(memorySwapToV2(300, 100), 200);
  assert.equal(memorySwapToV2(100, 100), 0);
  assert.equal(memorySwapToV2(-1, 100), -1);
  assert.equal(memorySwapToV2(undefined, 100), 0);
  assert.equal(memorySwapToV2(undefined, -1), -1);
  assert.throws(
    () => memorySwapToV2(50, 100),
    (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'linux.resources.memory.swap',
  );
  assert.throws(() => memorySwapToV2(50, undefined), /needs a memory limit/);
});

test('cgroup paths are normalized and checked', () => {
  assert.equal(normalizeCgroupPath('skiff/abc'), '/skiff/abc');
  assert.equal(normalizeCgroupPath('/skiff//abc/'), '/skiff/abc');
  assert.throws(
    () => normalizeCgroupPath('/skiff/../etc'),
    (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'linux.cgroupsPath',
  );
  assert.throws(() => normalizeCgroupPath('system.slice:docker:abc'), /systemd/);
  assert.throws(() => normalizeCgroupPath('/'), /root cgroup/);
});
