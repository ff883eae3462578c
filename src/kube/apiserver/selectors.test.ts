import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLabelSelector, matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError } from './status.js';

test('label selectors: equality, sets, existence, numeric comparisons', () => {
  const l = { app: 'web', tier: 'fe', n: '5' };
  const m = (s: string) => matchLabels(parseLabelSelector(s), l);
  assert.ok(m('app=web'));
  assert.ok(m('app==web,tier!=be'));
  assert.ok(!m('app!=web'));
  assert.ok(m('tier in (fe, be)'));
  assert.ok(!m('tier notin (fe)'));
  assert.ok(m('app,!missing'));
  assert.ok(!m('missing'));
  assert.ok(m('missing!=x'), '!= matches when the label is absent');
  assert.ok(m('n>4') && !m('n<5'));
  assert.ok(m(''));
  assert.ok(m('example.com/key notin (a,b)'));
});

test('label selectors: malformed input is a 400', () => {
  for (const bad of ['a in (', '=x', 'a=b c', 'a in (b', 'a>x', 'k=v!']) {
    assert.throws(
      () => parseLabelSelector(bad),
      (e) => e instanceof ApiError && e.code === 400,
      bad,
    );
  }
});

test('field selectors and LabelSelector formatting', () => {
  const r = parseFieldSelector('metadata.name=a,status.phase!=Failed');
  const get = (f: string) => (({ 'metadata.name': 'a', 'status.phase': 'Running' }) as Record<string, string>)[f];
  assert.ok(matchFields(r, get));
  assert.ok(!matchFields(parseFieldSelector('metadata.name==b'), get));
  assert.equal(
    formatLabelSelector({
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'c', operator: 'In', values: ['y', 'x'] },
        { key: 'd', operator: 'DoesNotExist' },
      ],
    }),
    'a=1,b=2,c in (x,y),!d',
  );
});
