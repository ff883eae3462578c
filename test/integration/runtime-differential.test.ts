// Differential: the same bundles run by Debian's runc and by Skiff show the same hostname, ids,
// mounts, capabilities, no_new_privs/seccomp mode, /dev contents and exit codes: Skiff's default
// spec through the library, and `runc spec` bundles through bin/skiff-runtime (see differential.ts
// for the probe; runtime-differential-dockerd.test.ts for the configs dockerd writes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeEnv, type Env } from './runtime-helpers.js';
import { RUNC, PROBE as DIFF_PROBE, runBoth, sections } from './differential.js';
import type { Spec } from '../../src/oci/index.js';

let env: Env;
before(() => {
  env = makeEnv();
  if (!existsSync(RUNC)) throw new Error('runc missing: install Debian runc (the bootstrap does)');
});
after(async () => {
  await env.cleanup();
});

const PROBE = [
  'hostname',
  'id',
  'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Uid|Gid|Groups):" /proc/self/status',
  // Mount points and types, the cgroup hierarchies (name=systemd too) included.
  'cut -d" " -f2,3 /proc/mounts | sort',
  'ls /dev | sort | tr "\\n" " "; echo',
  'ls -l /dev/null /dev/ptmx | cut -c1-10',
  'cat /proc/self/uid_map',
  'ulimit -n',
  'pwd',
].join('; ');

async function both(id: string, mod: (s: Spec) => void, exit = 0) {
  const b = env.bundle((s) => {
    s.process!.args = ['sh', '-c', `${PROBE}; exit ${exit}`];
    mod(s);
  });
  const out = join(b, 'runc.out');
  const fo = openSync(out, 'w');
  const runcRoot = join(env.dir, 'runc-state');
  // Unique per run: runc names the container's cgroups after its id, so a fixed id would share
  // them with any other run of this test on the machine.
  const rid = env.id(`runc-${id}`);
  const r = spawnSync(RUNC, ['--root', runcRoot, 'run', '--bundle', b, rid], {
    stdio: ['ignore', fo, fo],
    timeout: 60_000,
  });
  closeSync(fo);
  spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', rid], { stdio: 'ignore' });
  // runc logs its own warnings into the same stream (e.g. `level=warning msg="Failed to remove
  // cgroup (will retry)"` when the kernel is slow to release a cgroup under load): not the
  // container's view, so not compared.
  const runcOwn = /^time="[^"]*" level=\w+ msg=.*\n/gm;
  const runc = { code: r.status, out: readFileSync(out, 'utf8').replace(runcOwn, '') };
  const skiff = await env.runIn(['sh', '-c', `${PROBE}; exit ${exit}`], mod);
  rmSync(b, { recursive: true, force: true });
  return { runc, skiff: { code: skiff.code, out: skiff.out + skiff.err } };
}

test('default container: same view as runc', async () => {
  const { runc, skiff } = await both(
    'dflt',
    (s) => {
      s.hostname = 'diffbox';
    },
    3,
  );
  assert.equal(runc.code, 3, runc.out);
  assert.equal(skiff.code, 3);
  assert.equal(skiff.out, runc.out);
});

test('non-root user with groups, read-only root, no seccomp: same view as runc', async () => {
  const { runc, skiff } = await both(
    'user',
    (s) => {
      s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20] };
      s.process!.cwd = '/tmp';
      s.root.readonly = true;
      delete s.linux!.seccomp;
    },
    0,
  );
  assert.equal(runc.code, 0, runc.out);
  assert.equal(skiff.code, 0);
  assert.equal(skiff.out, runc.out);
});

test('user namespace: same view as runc', async () => {
  const { runc, skiff } = await both(
    'userns',
    (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 400000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 400000, size: 65536 }];
      s.mounts = s.mounts!.map((m) =>
        m.destination === '/dev/pts' ? { ...m, options: m.options!.filter((o) => o !== 'gid=5') } : m,
      );
    },
    1,
  );
  assert.equal(runc.code, 1, runc.out);
  assert.equal(skiff.code, 1);
  assert.equal(skiff.out, runc.out);
});

// Bundles as people make them to try a runtime: `runc spec` and `runc spec --rootless` (run as root
// here: a user namespace mapping root to root, the host's /sys bound, no network namespace).
for (const flags of [[], ['--rootless']]) {
  test(`a bundle from runc spec${flags.map((f) => ` ${f}`).join('')}: runc and skiff-runtime show the same world`, () => {
    const b = mkdtempSync(join(env.dir, 'runc-spec-'));
    execFileSync(RUNC, ['spec', ...flags, '--bundle', b]);
    const spec = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as Spec;
    rmSync(b, { recursive: true, force: true });
    spec.root.path = env.rootfs;
    spec.process!.terminal = false;
    spec.process!.args = ['sh', '-c', `${DIFF_PROBE}; exit 5`];
    const { runc, skiff } = runBoth(env.dir, env.id('spec'), spec);
    assert.equal(runc.code, 5, runc.out);
    assert.equal(skiff.code, 5, skiff.out);
    const r = sections(runc.out);
    const s = sections(skiff.out);
    assert.match(r.caps, /CapAmb:\s+0+\n/, 'runc leaves out the ambient capabilities that are not inheritable');
    assert.match(r.cgroup, /name=systemd/);
    for (const k of Object.keys(r)) assert.equal(s[k], r[k], `section ${k}`);
    assert.deepEqual(Object.keys(s), Object.keys(r));
  });
}
