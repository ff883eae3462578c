// Differential: the same bundles run by Debian's runc and by Skiff show the same hostname, ids,
// mounts, capabilities, no_new_privs/seccomp mode, /dev contents and exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeEnv, type Env } from './runtime-helpers.js';
import type { Spec } from '../../src/oci/index.js';

const RUNC = '/usr/sbin/runc';
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
  // Mount points and types, except the cgroup hierarchies (runc also binds name=systemd there).
  'cut -d" " -f2,3 /proc/mounts | grep -v "^/sys/fs/cgroup/" | sort',
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
  const r = spawnSync(RUNC, ['--root', runcRoot, 'run', '--bundle', b, `runc-${id}`], {
    stdio: ['ignore', fo, fo],
    timeout: 60_000,
  });
  closeSync(fo);
  spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', `runc-${id}`], { stdio: 'ignore' });
  const runc = { code: r.status, out: readFileSync(out, 'utf8') };
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
