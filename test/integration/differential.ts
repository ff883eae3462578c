// Shared by the runc differential suites: one probe that prints what a container sees, and a runner
// that runs the same bundle (same id) under Debian's runc and under bin/skiff-runtime (the CLI, as
// containerd drives it), one after the other, and returns both outputs.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../src/oci/index.js';
import { ROOT_DIR } from './runtime-helpers.js';

export const RUNC = '/usr/sbin/runc';

/** Sections of what the container sees. Device numbers, mount ids and peer-group numbers are left
 *  out (they differ between any two containers); everything else is printed as the kernel has it. */
export const PROBE = [
  // process group and session of the container's shell, as "self" when it leads them (runc makes
  // the init a session leader); pid numbers themselves differ (runc's Go threads take some)
  'echo "== status"; hostname; id; pwd; umask; cat /proc/self/oom_score_adj',
  `awk -v p=$$ '{ sub(/.*\\) /, ""); g = $3 == p ? "self" : $3; s = $4 == p ? "self" : $4; print "pgrp=" g, "sid=" s }' /proc/$$/stat`,
  'echo "== caps"; grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters|Uid|Gid|Groups):" /proc/self/status',
  'echo "== denied"; unshare -U true 2>&1; echo "unshare -U: $?"; hostname x 2>&1; echo "hostname: $?"',
  'echo "== rlimits"; cat /proc/self/limits',
  'echo "== env"; env | sort',
  // mount point, root in its file system, mount options, propagation kinds, type, source, super options
  `echo "== mounts"; awk '{ o = ""; for (i = 7; $i != "-"; i++) { f = $i; sub(/:[0-9]+$/, "", f); o = o " " f } print $5, $4, $6, o, "-", $(i + 1), $(i + 2), $(i + 3) }' /proc/self/mountinfo`,
  'echo "== cgroup"; cat /proc/self/cgroup; ls /sys/fs/cgroup | tr "\\n" " "; echo; ls /sys/fs/cgroup/pids 2>&1 | tr "\\n" " "; echo',
  'for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us; do echo "$f $(cat /sys/fs/cgroup/$f 2>&1)"; done',
  // devices: type and mode, owner, major/minor, name (symbolic links with their target); no dates
  `echo "== dev"; { ls -lan /dev /dev/pts; ls -land /dev/mqueue /dev/shm; } | awk 'NF < 3 { next } /^[cb]/ { print $1, $3, $4, $5 $6, $NF; next } /^l/ { print $1, $(NF - 2), $(NF - 1), $NF; next } { print $1, $3, $4, $NF }'`,
  // masked: a file reads empty, a directory lists nothing
  'echo "== masked"; for f in /proc/kcore /proc/keys /proc/timer_list /sys/firmware; do if [ -d $f ]; then n=$(ls $f | wc -l); else n=$(head -c 1 $f 2>/dev/null | wc -c); fi; echo "$f $n"; done; echo x 2>&1 > /proc/sys/kernel/domainname; echo "write /proc/sys: $?"; touch /probe 2>&1; echo "write /: $?"',
  'echo "== sysctl"; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range 2>&1',
  'echo "== fds"; ls /proc/self/fd | tr "\\n" " "; echo',
].join('; ');

export interface RunResult {
  code: number | null;
  out: string;
}

/** Runs `spec` (its process args are left as given) as container `id` under runc and under
 *  bin/skiff-runtime, in fresh bundles in `dir`. */
export function runBoth(dir: string, id: string, spec: Spec): { runc: RunResult; skiff: RunResult } {
  const run = (name: string, argv: string[]): RunResult => {
    const b = mkdtempSync(join(dir, `bundle-${name}-`));
    writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
    const out = join(b, 'out');
    const fo = openSync(out, 'w');
    const state = join(dir, `${name}-state`);
    try {
      const r = spawnSync(argv[0], [...argv.slice(1), '--root', state, 'run', '--bundle', b, id], {
        stdio: ['ignore', fo, fo],
        timeout: 60_000,
      });
      return { code: r.status, out: readFileSync(out, 'utf8') };
    } finally {
      closeSync(fo);
      // `run` deletes the container it ran; a failed or killed one may be left
      if (existsSync(join(state, id)))
        spawnSync(argv[0], [...argv.slice(1), '--root', state, 'delete', '--force', id], { stdio: 'ignore' });
      rmSync(b, { recursive: true, force: true });
    }
  };
  const runc = run('runc', [RUNC]);
  const skiff = run('skiff', [process.execPath, join(ROOT_DIR, 'bin/skiff-runtime')]);
  return { runc, skiff };
}

/** The probe's output split into its sections, for assertions that name the section that differs. */
export function sections(out: string): Record<string, string> {
  const r: Record<string, string> = {};
  let cur = 'preamble';
  for (const line of out.split('\n')) {
    const m = /^== (\S+)$/.exec(line);
    if (m) cur = m[1];
    else r[cur] = (r[cur] ?? '') + line + '\n';
  }
  return r;
}
