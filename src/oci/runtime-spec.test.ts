import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from './index.js';

const base = () => ({
  ociVersion: '1.0.2',
  root: { path: 'rootfs' },
  process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'] },
});

test('a minimal config parses; unknown fields pass through', () => {
  const s = parseSpec({ ...base(), vendorField: 1 });
  assert.equal(s.root.path, 'rootfs');
  assert.equal((s as Record<string, unknown>).vendorField, 1);
});

test('errors name every bad field', () => {
  const noArgs = base() as Record<string, any>;
  delete noArgs.process.args;
  assert.throws(
    () => parseSpec(noArgs),
    (e: Error & { field?: string }) => e.message.includes('process.args: required') && e.field === 'process.args',
  );
  assert.throws(() => parseSpec({ ...base(), ociVersion: '2.0.0' }), /ociVersion: must be a 1\.x version/);
  assert.throws(
    () => parseSpec({ ...base(), linux: { namespaces: [{ type: 'time2' }] } }),
    /linux\.namespaces\[0\]\.type: unknown namespace type "time2"/,
  );
  assert.throws(
    () => parseSpec({ ...base(), process: { ...base().process, cwd: 'rel' } }),
    /process\.cwd: must be an absolute path/,
  );
  assert.throws(
    () => parseSpec({ ...base(), mounts: [{ destination: 'x' }] }),
    /mounts\[0\]\.destination: must be an absolute path/,
  );
});

test('type mismatches and nested paths are named; valid input is returned as is', () => {
  assert.throws(
    () => parseSpec({ ...base(), process: { ...base().process, args: 'sh' } }),
    /process\.args: expected array, received string/,
  );
  assert.throws(
    () => parseSpec({ ...base(), process: { ...base().process, user: { uid: -1, gid: 0 } } }),
    /process\.user\.uid: must be >= 0/,
  );
  assert.throws(
    () => parseSpec({ ...base(), linux: { resources: { memory: { limit: 1.5 } } } }),
    /linux\.resources\.memory\.limit: must be an integer/,
  );
  assert.throws(
    () => parseSpec({ ...base(), linux: { devices: [{ type: 'x', path: '/dev/x' }] } }),
    /linux\.devices\[0\]\.type: must be one of c, b, u, p/,
  );
  assert.throws(() => parseSpec({ ...base(), root: null }), /root: expected object, received null/);
  assert.throws(() => parseSpec([]), /\(root\): expected object, received array/);
  const both = (() => {
    try {
      parseSpec({ ...base(), ociVersion: 3, hostname: 1 });
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  assert.match(both, /ociVersion: expected string, received number; hostname: expected string, received number/);
  const v = { ...base(), linux: { resources: { devices: [{ allow: false, major: null }] } } };
  assert.equal(parseSpec(v), v);
});
