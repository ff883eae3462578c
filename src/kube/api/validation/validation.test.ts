import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  goValue,
  humanDuration,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  validateLabelSelector,
  isCIdentifier,
} from '../index.js';

test('DNS-1123 labels and subdomains', () => {
  assert.deepEqual(isDNS1123Label('my-name'), []);
  assert.deepEqual(isDNS1123Label('My_Name'), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.equal(isDNS1123Label('a'.repeat(64))[0], 'must be no more than 63 characters');
  assert.deepEqual(isDNS1123Subdomain('a.b-c.d'), []);
  assert.equal(isDNS1123Subdomain('-a').length, 1);
  assert.equal(isDNS1123Subdomain('a..b').length, 1);
});

test('qualified names, label values, env names, config keys, ports', () => {
  assert.deepEqual(isQualifiedName('app.kubernetes.io/name'), []);
  assert.deepEqual(isQualifiedName('Name_1'), []);
  assert.equal(isQualifiedName('a/b/c').length, 1);
  assert.equal(isQualifiedName('/x')[0], 'prefix part must be non-empty');
  assert.match(isQualifiedName('Bad.Prefix/x')[0], /^prefix part a lowercase RFC 1123 subdomain/);
  assert.deepEqual(isValidLabelValue(''), []);
  assert.equal(isValidLabelValue('-x').length, 1);
  assert.deepEqual(isEnvVarName('MY.VAR-1'), []);
  assert.equal(isEnvVarName('1VAR').length, 1);
  assert.deepEqual(isCIdentifier('_ok1'), []);
  assert.equal(isCIdentifier('a-b').length, 1);
  assert.deepEqual(isConfigMapKey('key.name'), []);
  assert.deepEqual(isConfigMapKey('..x'), ["must not start with '..'"]);
  assert.deepEqual(isValidPortNum(65535), []);
  assert.deepEqual(isValidPortNum(0), ['must be between 1 and 65535, inclusive']);
  assert.deepEqual(isValidPortName('http'), []);
  assert.deepEqual(isValidPortName('123'), ['must contain at least one letter (a-z)']);
  assert.deepEqual(isValidPortName('a--b'), ['must not contain consecutive hyphens']);
});

test('label selector objects are validated with upstream paths', () => {
  const errs = validateLabelSelector(
    {
      matchExpressions: [
        { key: 'a', operator: 'In' },
        { key: 'b', operator: 'Exists', values: ['x'] },
        { key: 'c', operator: 'Near' },
      ],
    },
    'spec.selector',
  );
  assert.deepEqual(
    errs.map((e) => `${e.field}: ${e.message}`),
    [
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      'spec.selector.matchExpressions[2].operator: Unsupported value: "Near": supported values: "In", "NotIn", "Exists", "DoesNotExist"',
    ],
  );
});

test('Go-style values and kubectl durations', () => {
  assert.equal(goValue({ b: '2', a: '1' }), 'map[string]string{"a":"1", "b":"2"}');
  assert.equal(goValue(['x', 'y']), '[]string{"x", "y"}');
  assert.equal(goValue(3), '3');
  const s = 1000,
    m = 60 * s,
    h = 60 * m,
    d = 24 * h;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [5 * m + 3 * s, '5m3s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 20 * m, '3h20m'],
    [8 * h, '8h'],
    [47 * h, '47h'],
    [2 * d + 3 * h, '2d3h'],
    [7 * d, '7d'],
    [8 * d, '8d'],
    [400 * d, '400d'],
    [2 * 365 * d + 10 * d, '2y10d'],
    [9 * 365 * d, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});
