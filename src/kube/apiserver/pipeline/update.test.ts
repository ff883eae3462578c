import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonEqual } from './update.js';

test('jsonEqual: equal documents up to key order and undefined properties', () => {
  assert.ok(jsonEqual({ a: 1, b: { c: [1, 'x', null] } }, { b: { c: [1, 'x', null] }, a: 1 }));
  assert.ok(jsonEqual({ a: 1, u: undefined }, { a: 1 }));
  assert.ok(jsonEqual({ a: 1 }, { a: 1, u: undefined }));
  assert.ok(jsonEqual([], []));
  assert.ok(jsonEqual(Object.assign(Object.create(null), { a: 1 }), Object.assign(Object.create(null), { a: 1 })));
});

test('jsonEqual: any difference is unequal', () => {
  const cases: [unknown, unknown][] = [
    [{ a: 1 }, { a: 2 }],
    [{ a: 1 }, { b: 1 }],
    [{ a: 1 }, { a: 1, b: 0 }],
    [{ a: '1' }, { a: 1 }],
    [{ a: null }, {}],
    [
      [1, 2],
      [2, 1],
    ],
    [[1], [1, 1]],
    [{ 0: 'x' }, ['x']],
    [{ a: { b: { c: 'x' } } }, { a: { b: { c: 'y' } } }],
    [{ d: new Date(0) }, { d: new Date(1) }],
    [null, {}],
  ];
  for (const [a, b] of cases) {
    assert.equal(jsonEqual(a, b), false, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(jsonEqual(b, a), false, `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
  }
  assert.ok(jsonEqual({ d: new Date(5) }, { d: new Date(5) }));
});
