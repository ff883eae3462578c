import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fromLabelSelector,
  formatLabelSelector,
  labelSelectorMatches,
  matches,
  parseSelector,
  selectorToString,
} from './selector.js';
import { isSkiffError } from '../../../common/index.js';

test('parses equality and set-based requirements', () => {
  const s = parseSelector('a=b,c!=d, e in (x,y),!f,g notin (z),h,i==j');
  assert.equal(selectorToString(s), 'a=b,c!=d,e in (x,y),!f,g notin (z),h,i==j');
  assert.ok(matches(s, { a: 'b', e: 'x', h: '', i: 'j' }));
  assert.ok(matches(s, { a: 'b', c: 'e', e: 'y', g: 'w', h: '1', i: 'j' }));
  assert.ok(!matches(s, { a: 'b', c: 'd', e: 'x', h: '', i: 'j' }), 'c!=d fails on c=d');
  assert.ok(!matches(s, { a: 'b', e: 'x', f: '1', h: '', i: 'j' }), '!f fails when f exists');
  assert.ok(!matches(s, { a: 'b', e: 'z', h: '', i: 'j' }), 'e in (x,y)');
  assert.ok(!matches(s, { a: 'b', e: 'x', i: 'j' }), 'h must exist');
  assert.ok(matches(parseSelector(''), {}));
  assert.ok(matches(parseSelector('x>3'), { x: '4' }) && !matches(parseSelector('x>3'), { x: '3' }));
});

test('rejects malformed selectors with InvalidArgument', () => {
  for (const bad of ['a=b,', 'a in b', 'a in ()', 'in (x', '!', 'a=b c', 'a b', 'a=b=c', 'k/x/y=1', 'a=$$']) {
    assert.throws(
      () => parseSelector(bad),
      (e) => isSkiffError(e, 'InvalidArgument'),
      bad,
    );
  }
});

test('LabelSelector objects: nil selects nothing, {} everything, expressions', () => {
  assert.equal(labelSelectorMatches(undefined, { a: 'b' }), false);
  assert.equal(labelSelectorMatches({}, { a: 'b' }), true);
  const ls = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['fe', 'be'] },
      { key: 'canary', operator: 'DoesNotExist' },
    ],
  };
  assert.ok(labelSelectorMatches(ls, { app: 'web', tier: 'fe' }));
  assert.ok(!labelSelectorMatches(ls, { app: 'web', tier: 'fe', canary: 'y' }));
  assert.ok(!labelSelectorMatches(ls, { app: 'web' }));
  assert.equal(formatLabelSelector(ls), 'app=web,tier in (be,fe),!canary');
  assert.equal(selectorToString(fromLabelSelector(ls)), 'app=web,!canary,tier in (be,fe)');
  assert.throws(
    () => fromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Near' }] }),
    (e) => isSkiffError(e, 'InvalidArgument'),
  );
});
