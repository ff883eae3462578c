// The runc-compatible CLI (bin/skiff-runtime) and bad input: clear errors naming the field, a
// non-zero exit, the JSON log line containerd reads, and nothing left behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import {
  writeFileSync,
  readFileSync,
  readdirSync,
  existsSync,
  mkdtempSync,
  rmSync,
  mkdirSync,
  openSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeEnv, ROOT_DIR, type Env } from './runtime-helpers.js';
import { createCgroupManager, ownCgroups } from '../../src/runtime/index.js';

let env: Env;
let root: string;
before(() => {
  env = makeEnv();
  root = join(env.dir, 'cli-state');
  if (!existsSync(join(ROOT_DIR, 'dist/skiff-runtime-main.cjs'))) throw new Error('run npm run build first');
});
after(async () => {
  for (const id of existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith('.')) : [])
    cli(['delete', '--force', id]);
  await env.cleanup();
});

/** Runs the CLI with its stdout/stderr in files: a created container inherits them (as with
 *  containerd's fifos), so pipes would stay open as long as it runs. */
function cli(args: string[]) {
  const o = join(env.dir, 'cli.out'),
    e = join(env.dir, 'cli.err');
  const fo = openSync(o, 'w'),
    fe = openSync(e, 'w');
  try {
    const r = spawnSync(process.execPath, [join(ROOT_DIR, 'bin/skiff-runtime'), '--root', root, ...args], {
      stdio: ['ignore', fo, fe],
      timeout: 60_000,
    });
    return { code: r.status, out: readFileSync(o, 'utf8'), err: readFileSync(e, 'utf8') };
  } finally {
    closeSync(fo);
    closeSync(fe);
  }
}

test('create, start, state (runc JSON), ps, exec, kill --all, delete through the CLI', () => {
  const id = env.id('cli');
  const b = env.bundle((s) => {
    s.process!.args = ['sleep', '300'];
    s.annotations = { 'org.example/a': 'b' };
  });
  const pidFile = join(b, 'pid');
  assert.equal(cli(['create', '--bundle', b, '--pid-file', pidFile, id]).code, 0);
  const st = JSON.parse(cli(['state', id]).out);
  assert.deepEqual(
    Object.keys(st).sort(),
    ['annotations', 'bundle', 'created', 'id', 'ociVersion', 'owner', 'pid', 'rootfs', 'status'].sort(),
  );
  assert.equal(st.status, 'created');
  assert.equal(st.pid, Number(readFileSync(pidFile, 'utf8')));
  assert.equal(st.annotations['org.example/a'], 'b');
  assert.equal(st.owner, ''); // as runc's state (only list names the owner)
  assert.equal(cli(['start', id]).code, 0);
  assert.equal(JSON.parse(cli(['state', id]).out).status, 'running');
  assert.deepEqual(JSON.parse(cli(['ps', '--format', 'json', id]).out), [st.pid]);
  const ex = cli(['exec', id, 'sh', '-c', 'echo $((6*7)); exit 5']);
  assert.equal(ex.out, '42\n');
  assert.equal(ex.code, 5);
  assert.ok(cli(['list', '-q']).out.split('\n').includes(id));
  assert.equal(
    JSON.parse(cli(['list', '--format', 'json']).out).find((c: { id: string }) => c.id === id).status,
    'running',
  );
  assert.equal(cli(['kill', '--all', id, 'KILL']).code, 0);
  const until = Date.now() + 5000;
  while (JSON.parse(cli(['state', id]).out).status !== 'stopped' && Date.now() < until) {
    /* wait */
  }
  assert.equal(JSON.parse(cli(['state', id]).out).status, 'stopped');
  assert.equal(cli(['delete', id]).code, 0);
  const gone = cli(['state', id]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.err, /does not exist/);
});

test('errors go to stderr and, with --log-format json, as JSON lines to the log file', () => {
  const log = join(env.dir, 'log.json');
  const r = spawnSync(
    process.execPath,
    [join(ROOT_DIR, 'bin/skiff-runtime'), '--root', root, '--log', log, '--log-format', 'json', 'start', 'nosuch'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /container nosuch does not exist/);
  const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!);
  assert.equal(line.level, 'error');
  assert.match(line.msg, /does not exist/);
  assert.ok(!Number.isNaN(Date.parse(line.time)));
  assert.match(cli(['--systemd-cgroup', 'list']).err, /systemd-cgroup is not supported/);
  assert.match(cli(['--version']).out, /spec: 1\./);
  assert.ok(JSON.parse(cli(['features']).out).linux.namespaces.includes('user'));
});

function leftovers(id: string) {
  // No linux.cgroupsPath: the container id under the runtime's own cgroups, as runc places it.
  const dirs = Object.values(createCgroupManager(id, { parents: ownCgroups() }).dirs());
  return { state: existsSync(join(root, id)), cgroups: dirs.filter((d) => existsSync(d)) };
}

test('bad input: a clear error naming the field, non-zero exit, nothing left behind', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'malformed config.json',
      (d) => writeFileSync(join(d, 'config.json'), '{"ociVersion": "1.0.2", '),
      /config\.json is not valid JSON/,
    ],
    [
      'missing process.args',
      (d) => {
        const s = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        delete s.process.args;
        writeFileSync(join(d, 'config.json'), JSON.stringify(s));
      },
      /process\.args: required/,
    ],
    [
      'missing rootfs',
      (d) => {
        const s = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        s.root.path = join(d, 'nope');
        writeFileSync(join(d, 'config.json'), JSON.stringify(s));
      },
      /root\.path: rootfs .* does not exist/,
    ],
    [
      'unknown namespace type',
      (d) => {
        const s = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        s.linux.namespaces.push({ type: 'bogus' });
        writeFileSync(join(d, 'config.json'), JSON.stringify(s));
      },
      /linux\.namespaces\[\d+\]\.type: unknown namespace type "bogus"/,
    ],
    [
      'missing binary',
      (d) => {
        const s = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        s.process.args = ['/nope'];
        writeFileSync(join(d, 'config.json'), JSON.stringify(s));
      },
      /exec: "\/nope"/,
    ],
  ];
  for (const [name, spoil, msg] of cases) {
    const id = env.id('bad');
    const b = env.bundle();
    spoil(b);
    const r = cli(['create', '--bundle', b, id]);
    assert.notEqual(r.code, 0, name);
    assert.match(r.err, msg, name);
    assert.deepEqual(leftovers(id), { state: false, cgroups: [] }, `${name}: nothing left behind`);
  }
  for (const bad of ['../x', 'a/b', '.hidden', '']) {
    const r = cli(['create', '--bundle', env.bundle(), bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /invalid container id|container id required/);
  }
  assert.ok(!existsSync(join(env.dir, 'x')), '../x made nothing outside the root');
});

test('duplicate id: AlreadyExists, the first container untouched', () => {
  const id = env.id('dup');
  const b = env.bundle((s) => {
    s.process!.args = ['sleep', '300'];
  });
  assert.equal(cli(['create', '--bundle', b, id]).code, 0);
  const pid = JSON.parse(cli(['state', id]).out).pid;
  const r = cli(['create', '--bundle', b, id]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /already exists/);
  const st = JSON.parse(cli(['state', id]).out);
  assert.equal(st.pid, pid);
  assert.equal(st.status, 'created');
  assert.equal(cli(['delete', '--force', id]).code, 0);
  assert.deepEqual(leftovers(id), { state: false, cgroups: [] });
});

test('spec writes the config.json runc spec writes (also --rootless), and it runs', () => {
  const d = mkdtempSync(join(env.dir, 'spec-'));
  try {
    for (const flags of [['--rootless'], []]) {
      const r = mkdtempSync(join(env.dir, 'runc-spec-'));
      execFileSync('/usr/sbin/runc', ['spec', ...flags, '--bundle', r]);
      rmSync(join(d, 'config.json'), { force: true });
      assert.equal(cli(['spec', ...flags, '--bundle', d]).code, 0);
      assert.deepEqual(
        JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')),
        JSON.parse(readFileSync(join(r, 'config.json'), 'utf8')),
        `spec ${flags.join(' ')}`,
      );
      rmSync(r, { recursive: true, force: true });
    }
    const s = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    assert.equal(s.root.path, 'rootfs');
    assert.notEqual(cli(['spec', '--bundle', d]).code, 0, 'does not overwrite');
    s.root.path = env.rootfs;
    s.process.terminal = false;
    s.process.args = ['sh', '-c', 'exit 7'];
    writeFileSync(join(d, 'config.json'), JSON.stringify(s));
    mkdirSync(join(d, 'rootfs'));
    assert.equal(cli(['run', '--bundle', d, env.id('spec')]).code, 7);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('descriptors above stdio do not reach the container, except --preserve-fds N', () => {
  const b = env.bundle((s) => {
    s.process!.args = ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "'];
  });
  const extra = openSync(join(env.dir, 'extra'), 'w');
  const run = (flags: string[]) => {
    const o = join(env.dir, 'fd.out');
    const fo = openSync(o, 'w');
    try {
      spawnSync(
        process.execPath,
        [join(ROOT_DIR, 'bin/skiff-runtime'), '--root', root, 'run', ...flags, '--bundle', b, env.id('fds')],
        { stdio: ['ignore', fo, fo, extra], timeout: 60_000 },
      );
      return readFileSync(o, 'utf8').trim();
    } finally {
      closeSync(fo);
    }
  };
  try {
    assert.equal(run([]), '0 1 2 3', 'only ls’s own directory descriptor besides stdio');
    assert.equal(run(['--preserve-fds', '1']), '0 1 2 3 4', 'fd 3 kept, ls’s directory is 4');
  } finally {
    closeSync(extra);
  }
});
