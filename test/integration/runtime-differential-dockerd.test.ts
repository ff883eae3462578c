// Differential on the configs dockerd writes: the real dockerd (Debian docker.io, the fixture) runs
// `docker run` variants through `--add-runtime capture=<script>`, a script that copies the bundle's
// config.json and execs runc. Each captured config (its hooks, which call back into that dockerd,
// left out; its rootfs replaced by the test's busybox rootfs; its command replaced by the probe) is
// then run by runc and by bin/skiff-runtime, and what the container sees must be identical: exit
// status, ids, capabilities, seccomp, rlimits, environment, mounts, cgroup files, devices, masked and
// read-only paths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeEnv, grantableCaps, type Env } from './runtime-helpers.js';
import { CAPABILITIES } from '../../src/runtime/index.js';
import { RUNC, PROBE, runBoth, sections } from './differential.js';
import { startDockerd, type Dockerd } from '../fixtures/dockerd.js';
import type { Spec } from '../../src/oci/index.js';

let env: Env;
let d: Dockerd;
let captures: string;

before(async () => {
  env = makeEnv();
  if (!existsSync(RUNC)) throw new Error('runc missing: install Debian runc (the bootstrap does)');
  captures = join(env.dir, 'captures');
  mkdirSync(captures);
  const script = join(env.dir, 'capture-runtime');
  // containerd's shim runs `RUNTIME --root R --log L --log-format json create --bundle B ... ID`.
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'b=""; prev=""',
      'for a in "$@"; do [ "$prev" = "--bundle" ] && b="$a"; prev="$a"; done',
      `[ -n "$b" ] && [ -f "$b/config.json" ] && cp "$b/config.json" "${captures}/$(basename "$b").json"`,
      `exec ${RUNC} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  d = await startDockerd({ args: ['--add-runtime', `capture=${script}`] });
  d.importBusybox();
  // All variants at once: dockerd's create/start is most of this file's time.
  const got = await Promise.all(VARIANTS.map(([, flags]) => capture(flags)));
  VARIANTS.forEach(([name], i) => captured.set(name, got[i]));
});
const captured = new Map<string, { spec: Spec; error?: string }>();
after(async () => {
  await d?.stop();
  await env?.cleanup();
});

/** The config dockerd hands its runtime for `docker run FLAGS busybox true`, and whether runc ran
 *  it under dockerd (its error otherwise). */
async function capture(flags: string[]): Promise<{ spec: Spec; error?: string }> {
  const docker = (args: string[]) =>
    promisify(execFile)('docker', args, { env: { ...process.env, DOCKER_HOST: d.host }, timeout: 120_000 });
  const id = (await docker(['create', '--runtime', 'capture', ...flags, 'busybox', 'true'])).stdout.trim();
  let error: string | undefined;
  await docker(['start', '-a', id]).catch((e: { stderr?: string }) => {
    error = e.stderr ?? String(e);
  });
  const file = join(captures, `${id}.json`);
  assert.ok(existsSync(file), `the capture runtime saw container ${id}: ${error}`);
  return { spec: JSON.parse(readFileSync(file, 'utf8')), error };
}

/** The captured config made runnable outside dockerd. */
function replay(spec: Spec): Spec {
  delete spec.hooks; // libnetwork's prestart hook calls back into the dockerd that made it
  spec.root.path = env.rootfs;
  const args = spec.process!.args ?? [];
  const init = args[0] === '/sbin/docker-init' ? args.slice(0, args.indexOf('--') + 1) : [];
  spec.process!.args = [...init, 'sh', '-c', PROBE];
  spec.process!.terminal = false;
  return spec;
}

const VARIANTS: [string, string[], (s: Spec) => void][] = [
  ['default', [], () => undefined],
  [
    '--privileged',
    ['--privileged'],
    (s) => {
      const b = s.process!.capabilities!.bounding!;
      assert.ok(
        ['CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE', 'CAP_NET_ADMIN'].every((c) => b.includes(c)),
        b.join(' '),
      );
    },
  ],
  ['-u 1000:1000', ['-u', '1000:1000'], (s) => assert.equal(s.process!.user.uid, 1000)],
  ['--read-only', ['--read-only'], (s) => assert.equal(s.root.readonly, true)],
  [
    '--cap-add SYS_ADMIN --cap-drop NET_RAW',
    ['--cap-add', 'SYS_ADMIN', '--cap-drop', 'NET_RAW'],
    (s) => assert.ok(s.process!.capabilities!.effective!.includes('CAP_SYS_ADMIN')),
  ],
  ['--memory 64m', ['--memory', '64m'], (s) => assert.equal(s.linux!.resources!.memory!.limit, 64 << 20)],
  ['--pids-limit 50', ['--pids-limit', '50'], (s) => assert.equal(s.linux!.resources!.pids!.limit, 50)],
  [
    '--tmpfs /run',
    ['--tmpfs', '/run:size=1m,mode=1777'],
    (s) => assert.ok(s.mounts!.some((m) => m.destination === '/run' && m.type === 'tmpfs')),
  ],
  ['--init', ['--init'], (s) => assert.equal(s.process!.args![0], '/sbin/docker-init')],
];

/** The capabilities this process may grant (its bounding set). */
function grantableNames(): string[] {
  return grantableCaps(CAPABILITIES);
}

for (const [name, , check] of VARIANTS) {
  test(`docker run ${name}: runc and skiff-runtime show the container the same world`, () => {
    const { spec, error } = captured.get(name)!;
    check(spec);
    if (name === '--privileged') {
      // dockerd grants every capability it knows; this host's bounding set lacks some, so runc
      // fails to apply them (under dockerd too): skiff-runtime must fail the same config as well.
      assert.match(error ?? '', /unable to apply caps: operation not permitted/);
      const both = runBoth(env.dir, env.id('dkr'), replay(structuredClone(spec)));
      assert.notEqual(both.runc.code, 0, both.runc.out);
      assert.notEqual(both.skiff.code, 0, both.skiff.out);
      assert.match(both.skiff.out, /capset|capabilit/i);
      // With the capabilities this host can grant, the privileged container itself is compared.
      const caps = spec.process!.capabilities!;
      const ok = new Set(grantableNames());
      for (const k of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const)
        caps[k] = caps[k]?.filter((c) => ok.has(c));
    } else assert.equal(error, undefined, 'runc ran it under dockerd');
    const { runc, skiff } = runBoth(env.dir, env.id('dkr'), replay(spec));
    assert.equal(runc.code, 0, runc.out);
    assert.equal(skiff.code, runc.code, skiff.out);
    const r = sections(runc.out);
    const s = sections(skiff.out);
    for (const k of Object.keys(r)) assert.equal(s[k], r[k], `section ${k}`);
    assert.deepEqual(Object.keys(s), Object.keys(r));
  });
}
