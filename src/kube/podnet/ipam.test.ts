import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from './ipam.js';

test('CidrSet: the lowest free /24 of the cluster CIDR; taken ranges skipped, released ones reused, full is undefined', () => {
  const s = new CidrSet('10.42.0.0/16', 24);
  assert.ok(s.occupy('10.42.0.0/24'));
  assert.ok(s.occupy('10.42.2.0/24'));
  assert.equal(s.allocate(), '10.42.1.0/24');
  assert.equal(s.allocate(), '10.42.3.0/24');
  s.release('10.42.1.0/24');
  assert.equal(s.allocate(), '10.42.1.0/24');
  // Not ours: another range, another size, junk.
  assert.equal(s.occupy('10.43.0.0/24'), false);
  assert.equal(s.occupy('10.42.4.0/25'), false);
  assert.equal(s.occupy('nonsense'), false);
  const small = new CidrSet('10.9.0.0/23', 24);
  assert.equal(small.allocate(), '10.9.0.0/24');
  assert.equal(small.allocate(), '10.9.1.0/24');
  assert.equal(small.allocate(), undefined);
  assert.throws(() => new CidrSet('10.9.0.0/24', 16), /does not fit/);
});
