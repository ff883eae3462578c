import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalQuantity, compareQuantity, parseQuantity, quantityMilliValue, quantityValue } from './quantity.js';

test('canonical forms as upstream prints them', () => {
  const cases: [string | number, string][] = [
    ['100m', '100m'],
    ['0.1', '100m'],
    ['1.5', '1500m'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['512', '512'],
    ['1e3', '1e3'],
    ['1E6', '1e6'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['2000000', '2M'],
    ['1.5e3', '1500'],
    ['0', '0'],
    ['0Mi', '0'],
    ['-1', '-1'],
    ['1n', '1n'],
    ['0.0000000001', '1n'],
    [2, '2'],
    [0.5, '500m'],
    ['100Ki', '100Ki'],
    ['1Ki', '1Ki'],
    ['1023', '1023'],
    ['12e-3', '12e-3'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, String(input));
});

test('values, milli-values and comparison', () => {
  assert.equal(quantityMilliValue(parseQuantity('1.5')), 1500n);
  assert.equal(quantityValue(parseQuantity('100m')), 1n);
  assert.equal(quantityValue(parseQuantity('1Gi')), 1073741824n);
  assert.equal(compareQuantity(parseQuantity('1Gi'), parseQuantity('1024Mi')), 0);
  assert.equal(compareQuantity(parseQuantity('500m'), parseQuantity('1')), -1);
  assert.equal(compareQuantity(parseQuantity('2k'), parseQuantity('1Ki')), 1);
});

test('rejects malformed quantities', () => {
  for (const bad of ['', 'abc', '1.2.3', '1Gib', '1 Gi', '--1', '.', 'e3', '1ee3'])
    assert.throws(() => parseQuantity(bad), /quantities must match/, bad);
});
