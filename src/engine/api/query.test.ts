// Table-driven tests of the one query parser, against moby's httputils and filters semantics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Query, parseFilters, validateFilters, filterBool, boolValue, parseGoInt } from './query.js';

const q = (s: string) => new Query(new URLSearchParams(s));

test('booleans: BoolValue and BoolValueOrDefault', () => {
  const rows: [string, boolean, boolean][] = [
    // query, bool('x'), bool('x', true)
    ['', false, true],
    ['x', false, false],
    ['x=', false, false],
    ['x=0', false, false],
    ['x=no', false, false],
    ['x=NO', false, false],
    ['x=false', false, false],
    ['x=False', false, false],
    ['x=FALSE', false, false],
    ['x=none', false, false],
    ['x=%20false%20', false, false],
    ['x=1', true, true],
    ['x=true', true, true],
    ['x=True', true, true],
    ['x=TRUE', true, true],
    ['x=yes', true, true],
    ['x=t', true, true],
    ['x=2', true, true],
    ['x=anything', true, true],
    ['x=1&x=0', true, true],
    ['x=0&x=1', false, false],
  ];
  for (const [s, plain, withDefault] of rows) {
    assert.equal(q(s).bool('x'), plain, `bool(x) of ${JSON.stringify(s)}`);
    assert.equal(q(s).bool('x', true), withDefault, `bool(x, true) of ${JSON.stringify(s)}`);
  }
  assert.equal(boolValue(null), false);
});

test('integers: Atoi / Int64ValueOrDefault / Int64ValueOrZero', () => {
  const rows: [string, number | undefined | Error, number][] = [
    // query, int('n', 7), intOrZero('n')
    ['', 7, 0],
    ['n=', 7, 0],
    ['n=0', 0, 0],
    ['n=5', 5, 5],
    ['n=-1', -1, -1],
    ['n=%2B3', 3, 3],
    ['n=+3', new Error('strconv.Atoi: parsing " 3": invalid syntax'), 0],
    ['n=0010', 10, 10],
    ['n=-10&n=4', -10, -10],
    ['n=abc', new Error('strconv.Atoi: parsing "abc": invalid syntax'), 0],
    ['n=1.5', new Error('strconv.Atoi: parsing "1.5": invalid syntax'), 0],
    ['n=%201', new Error('strconv.Atoi: parsing " 1": invalid syntax'), 0],
    ['n=1e3', new Error('strconv.Atoi: parsing "1e3": invalid syntax'), 0],
    ['n=99999999999999999999', new Error('strconv.Atoi: parsing "99999999999999999999": value out of range'), 0],
  ];
  for (const [s, want, zero] of rows) {
    if (want instanceof Error)
      assert.throws(
        () => q(s).int('n', 7),
        (e: Error & { code?: string; field?: string }) =>
          e.message === want.message && e.code === 'InvalidArgument' && e.field === 'n',
        s,
      );
    else assert.equal(q(s).int('n', 7), want, s);
    assert.equal(q(s).intOrZero('n'), zero, s);
  }
  assert.equal(parseGoInt('-9223372036854775808', 'x'), -9223372036854775808);
  assert.throws(() => parseGoInt('9223372036854775808', 'x'), /value out of range/);
});

test('strings: first value wins, all() keeps every occurrence, + is a space', () => {
  assert.equal(q('a=1&a=2').str('a'), '1');
  assert.deepEqual(q('a=1&a=2').all('a'), ['1', '2']);
  assert.equal(q('').str('a'), undefined);
  assert.equal(q('a=x+y%2Bz').str('a'), 'x y+z');
  assert.equal(q('a').has('a'), true);
});

test('filters: FromJSON, both encodings and every malformed shape', () => {
  const rows: [string | null, Record<string, string[]> | 'error'][] = [
    [null, {}],
    ['', {}],
    ['null', {}],
    ['{}', {}],
    ['{"label":{"a=b":true}}', { label: ['a=b'] }],
    // moby keeps every listed value whatever its boolean
    ['{"label":{"a=b":true,"c":false}}', { label: ['a=b', 'c'] }],
    ['{"status":["running","exited"]}', { status: ['running', 'exited'] }],
    ['{"status":["running","running"]}', { status: ['running'] }],
    ['{"status":null}', { status: [] }],
    ['{"a":{"x":true},"b":{}}', { a: ['x'], b: [] }],
    ['{"a":{"x":true},"b":["y"]}', 'error'],
    ['{"a":"x"}', 'error'],
    ['{"a":1}', 'error'],
    ['{"a":{"x":"yes"}}', 'error'],
    ['{"a":[1]}', 'error'],
    ['["a"]', 'error'],
    ['"a"', 'error'],
    ['{bad', 'error'],
  ];
  for (const [text, want] of rows) {
    if (want === 'error')
      assert.throws(
        () => parseFilters(text),
        (e: Error & { code?: string; field?: string }) =>
          e.code === 'InvalidArgument' && e.field === 'filters' && /^invalid filter/.test(e.message),
        String(text),
      );
    else assert.deepEqual(parseFilters(text), want, String(text));
  }
  assert.deepEqual(q('filters=%7B%22a%22%3A%5B%22b%22%5D%7D').filters(['a']), { a: ['b'] });
  assert.throws(() => q('filters=%7B%22zz%22%3A%5B%22b%22%5D%7D').filters(['a']), /: Invalid filter 'zz'$/);
  assert.deepEqual(validateFilters({ a: [] }, ['a']), { a: [] });
});

test('filters: boolean values', () => {
  assert.equal(filterBool({}, 'dangling'), undefined);
  assert.equal(filterBool({ dangling: ['true'] }, 'dangling'), true);
  assert.equal(filterBool({ dangling: ['1'] }, 'dangling'), true);
  assert.equal(filterBool({ dangling: ['False'] }, 'dangling'), false);
  assert.equal(filterBool({ dangling: ['0'] }, 'dangling'), false);
  assert.throws(() => filterBool({ dangling: ['maybe'] }, 'dangling'), /Invalid filter 'dangling=\[maybe\]'/);
});
