import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCreateSpec, compileExecSpec } from './init-spec.js';
import { parseMountOptions, MS } from './mount-options.js';
import { defaultSpec } from './default-spec.js';
import { canStart, canPause, canDelete } from './status.js';
import { parseSignal } from './runtime.js';
import { capMask } from './capabilities.js';

const opts = {
  id: 'x',
  bundle: '/b',
  rootfs: '/b/rootfs',
  cgroupDirs: { memory: '/sys/fs/cgroup/memory/skiff/x' },
  cgroupVersion: 1 as const,
  pidFile: '/s/pid',
  errFile: '/s/err',
  fifo: '/s/fifo',
};
const records = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));

test('mount options become flags, propagation and data', () => {
  const o = parseMountOptions(['nosuid', 'noexec', 'rbind', 'ro', 'rslave', 'mode=755', 'size=1k']);
  assert.equal(o.flags, MS.NOSUID | MS.NOEXEC | MS.BIND | MS.REC | MS.RDONLY);
  assert.equal(o.propagation, MS.SLAVE | MS.REC);
  assert.equal(o.data, 'mode=755,size=1k');
  assert.equal(parseMountOptions(['ro', 'rw']).flags, 0);
  // runc's recursive attributes are not mount(2) data: mount_setattr bits (RDONLY 1, NOEXEC 8)
  const r = parseMountOptions(['rbind', 'ro', 'rro', 'rnoexec']);
  assert.equal(r.recursiveAttrs, 0x1 | 0x8);
  assert.equal(r.data, '');
  assert.equal(parseMountOptions(['ro']).recursiveAttrs, 0);
});

test('the default spec compiles to namespaces, mounts, devices, caps, seccomp and process records', () => {
  const spec = defaultSpec({ args: ['sh', '-c', 'echo a\tb'], hostname: 'h' });
  const r = records(compileCreateSpec(spec, opts));
  const keys = (k: string) => r.filter((x) => x[0] === k);
  assert.deepEqual(
    keys('ns')
      .map((x) => x[1])
      .sort(),
    ['ipc', 'mnt', 'net', 'pid', 'uts'],
  );
  assert.deepEqual(keys('cgroup'), [['cgroup', '/sys/fs/cgroup/memory/skiff/x']]);
  assert.ok(keys('dev').some((x) => x[1] === '/dev/null' && x[3] === '1' && x[4] === '3'));
  assert.ok(
    keys('mount').some((x) => x[2] === '/sys/fs/cgroup/memory' && x[1] === '/sys/fs/cgroup/memory/skiff/x'),
    'cgroup mount binds the own cgroup',
  );
  assert.deepEqual(keys('hostname'), [['hostname', 'h']]);
  assert.equal(keys('caps')[0][1], capMask(spec.process!.capabilities!.effective, 'x'));
  assert.ok(keys('sc').length > 300);
  assert.deepEqual(keys('args')[0], ['args', 'sh', '-c', 'echo a\\tb'], 'fields are escaped');
  assert.ok(keys('nnp').length === 1 && keys('fifo').length === 1);
});

test('exec joins every configured namespace, mount included', () => {
  const spec = defaultSpec();
  const r = records(
    compileExecSpec(spec, spec.process!, { pid: 42, cgroupDirs: {}, pidFile: '/p', errFile: '/e', detach: true }),
  );
  assert.deepEqual(
    r
      .filter((x) => x[0] === 'nsjoin')
      .map((x) => x[1])
      .sort(),
    ['ipc', 'mnt', 'net', 'pid', 'uts'],
  );
  assert.deepEqual(
    r.find((x) => x[0] === 'pid'),
    ['pid', '42'],
  );
});

test('a user namespace without mappings is refused, naming the field', () => {
  const spec = defaultSpec();
  spec.linux!.namespaces!.push({ type: 'user' });
  assert.throws(() => compileCreateSpec(spec, opts), /linux\.uidMappings/);
});

test('status guards and signals', () => {
  assert.throws(() => canStart('c1', 'running'), /cannot start container c1: it is running/);
  assert.throws(() => canPause('c1', 'stopped'), /cannot pause container c1: it is stopped/);
  assert.throws(() => canDelete('c1', 'running', false), /use --force/);
  canDelete('c1', 'running', true);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('term'), 15);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('RTMIN+2'), 36);
  assert.throws(() => parseSignal('NOPE'), /invalid signal/);
  assert.throws(
    () => capMask(['CAP_NOPE'], 'process.capabilities.bounding'),
    /process\.capabilities\.bounding: unknown capability/,
  );
});

test('ambient capabilities the kernel would refuse (not permitted and inheritable) are left out, as runc does', () => {
  const spec = defaultSpec();
  const three = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  // `runc spec`: ambient lists three capabilities, inheritable none.
  spec.process!.capabilities = { bounding: three, effective: three, permitted: three, ambient: three };
  const caps = () => records(compileCreateSpec(spec, opts)).find((x) => x[0] === 'caps')!;
  assert.equal(caps()[5], '0x0');
  spec.process!.capabilities.inheritable = ['CAP_KILL'];
  assert.equal(caps()[5], capMask(['CAP_KILL'], 'x'));
});

test('v1 cgroup mount: a writable tmpfs, one read-only bind per host hierarchy, the co-mount links', () => {
  const spec = defaultSpec();
  const r = records(
    compileCreateSpec(spec, {
      ...opts,
      cgroupDirs: {
        'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/skiff/x',
        systemd: '/sys/fs/cgroup/systemd/skiff/x',
        unified: '/sys/fs/cgroup/unified/skiff/x',
      },
      cgroupLayout: {
        hierarchies: ['cpu,cpuacct', 'systemd'],
        links: [
          { name: 'cpu', target: 'cpu,cpuacct' },
          { name: 'cpuacct', target: 'cpu,cpuacct' },
        ],
      },
    }),
  );
  const mounts = r.filter((x) => x[0] === 'mount' && x[2].startsWith('/sys/fs/cgroup'));
  assert.deepEqual(
    mounts.map((x) => [x[2], x[3]]),
    [
      ['/sys/fs/cgroup', 'tmpfs'],
      ['/sys/fs/cgroup/cpu,cpuacct', 'bind'],
      ['/sys/fs/cgroup/systemd', 'bind'],
    ],
    'no unified mount',
  );
  assert.equal(Number(mounts[0][4]) & MS.RDONLY, 0, 'the tmpfs stays writable');
  assert.equal(Number(mounts[1][4]) & MS.RDONLY, MS.RDONLY, 'the hierarchies are read-only');
  assert.deepEqual(
    r.filter((x) => x[0] === 'symlink' && x[2].startsWith('/sys/fs/cgroup')),
    [
      ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpu'],
      ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpuacct'],
    ],
  );
});
