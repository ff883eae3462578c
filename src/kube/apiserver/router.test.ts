import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestInfo, requestTarget } from './router.js';

// (a target URL refuses, e.g. `//` and a bad host, is refused by both)
const viaUrl = (t: string) => {
  try {
    const u = new URL(t, 'http://x');
    return { pathname: u.pathname, query: [...u.searchParams] };
  } catch (e) {
    return String(e);
  }
};
const viaTarget = (t: string) => {
  try {
    const u = requestTarget(t);
    return { pathname: u.pathname, query: [...u.searchParams] };
  } catch (e) {
    return String(e);
  }
};

test('requestTarget splits a request target exactly as new URL does', () => {
  const targets = [
    '/',
    '/api/v1/namespaces/bench/pods',
    '/api/v1/namespaces/bench/pods/p-1/binding',
    '/api/v1/namespaces/default/configmaps/kube-root-ca.crt',
    '/api/v1/pods?watch=1&fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed',
    '/apis/apps/v1/deployments?labelSelector=a+b%3Dc&limit=500&continue=',
    '/api/v1/namespaces/a/events?x=\'y\'&z="w"',
    '/api/v1/namespaces/a/../kube-system/secrets',
    '/api/v1/namespaces/a/./pods',
    '/api/v1/namespaces/a/%2e%2e/b',
    '/api/v1/namespaces/a/.%2E/b',
    '//evil/api/v1/pods',
    '/api/v1/name spaces',
    '/api/v1/namespaces/a\\b',
    '/api/v1/namespaces/é',
    '/api/v1/pods?watch=1#frag',
    '/api/v1/pods?a=%zz&b=%41&c=+',
    '/api/v1/namespaces/a/pods/x%2Fy',
    '/healthz/',
    '/api/v1/pods/?',
    '/api/v1/namespaces/a/pods/{x}',
    '/api/v1/namespaces/a/pods/..',
    '/api/v1/namespaces/a/pods/...',
  ];
  for (const t of targets) assert.deepEqual(viaTarget(t), viaUrl(t), t);
  // and random targets over the characters that matter
  const chars = '/./%2eaZ09-_~!$&\'()*+,;=:@?#\\ "<>`{}|^é'.split('');
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 3000; i++) {
    let t = '/';
    for (let j = rnd(24); j > 0; j--) t += chars[rnd(chars.length)];
    assert.deepEqual(viaTarget(t), viaUrl(t), t);
  }
});

test('requestInfo decodes percent-encoded path segments and keeps undecodable ones', () => {
  const q = new URLSearchParams();
  const a = requestInfo('GET', '/api/v1/namespaces/a%2Db/pods/x', q);
  assert.equal(a.kind === 'resource' && a.namespace, 'a-b');
  const b = requestInfo('GET', '/api/v1/namespaces/a%zz/pods', q);
  assert.equal(b.kind === 'resource' && b.namespace, 'a%zz');
});
