import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toSkiffError, httpStatus, checkSafeId, isSkiffError } from './index.js';

test('errno codes map to the closed error set', () => {
  const e = Object.assign(new Error('gone'), { code: 'ENOENT' });
  const s = toSkiffError(e);
  assert.equal(s.code, 'NotFound');
  assert.equal(httpStatus(s.code), 404);
  assert.equal(toSkiffError(new Error('x')).code, 'Internal');
});

test('ids with path characters are refused', () => {
  assert.equal(checkSafeId('abc-1.2_3'), 'abc-1.2_3');
  for (const bad of ['../x', 'a/b', '', '.hidden', 'a..b']) {
    assert.throws(
      () => checkSafeId(bad),
      (e: unknown) => isSkiffError(e, 'InvalidArgument'),
    );
  }
});
