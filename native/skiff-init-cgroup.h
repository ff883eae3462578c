/* skiff-init: putting a process into the container's cgroups (the `cgroup DIR` records) without
 * the kernel's global cgroup lock where the kernel allows it.
 *
 * A write of a pid to `cgroup.procs` takes the global cgroup threadgroup rwsem for writing, and
 * the first writer after a quiet spell waits a whole RCU grace period (10-40 ms on this 2-core
 * host under load; it was the largest single part of a container's create). Two ways around it:
 *  - cgroup v2: clone3(CLONE_INTO_CGROUP) creates the child in the cgroup (Linux >= 5.7); a fork
 *    takes that lock only for reading;
 *  - cgroup v1: a single thread moving itself (`0` written to the hierarchy's `tasks` file) is
 *    exempt from the global lock (Linux >= 6.0). The child is single-threaded and writes to
 *    `tasks` files the parent opened before the clone: v1 checks the opener's credentials, so
 *    this works from inside a user namespace too.
 * Where clone3 is refused (an older kernel, a seccomp filter around us), the parent writes the
 * child's pid into the v2 cgroup.procs before releasing it (the old, locked way); the environment
 * variable SKIFF_INIT_NO_CLONE3 forces that path (for its test). */
#pragma once
#include "skiff-init-spec.h"
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define MAX_CGROUPS 32
static int g_cg_tasks[MAX_CGROUPS]; /* v1: each hierarchy's `tasks`, open for writing */
static const char *g_cg_names[MAX_CGROUPS];
static int g_ncg;
static int g_cg2 = -1; /* v2: the directory (for CLONE_INTO_CGROUP) */
static const char *g_cg2_name;

/* Opens every cgroup of the spec, before the clone (host paths are reachable from here). */
static void open_cgroups(void) {
  FOR_KEY(l, "cgroup") {
    int d = open(l->f[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) die("open cgroup %s", l->f[0]);
    struct statfs sf;
    if (fstatfs(d, &sf) < 0) die("statfs cgroup %s", l->f[0]);
    if (sf.f_type == CGROUP2_SUPER_MAGIC) {
      if (g_cg2 >= 0) DIE("more than one cgroup v2 directory: %s, %s", g_cg2_name, l->f[0]);
      g_cg2 = d;
      g_cg2_name = l->f[0];
      continue;
    }
    if (g_ncg == MAX_CGROUPS) DIE("too many cgroup directories");
    int t = openat(d, "tasks", O_WRONLY | O_CLOEXEC);
    if (t < 0) die("open %s/tasks", l->f[0]);
    close(d);
    g_cg_names[g_ncg] = l->f[0];
    g_cg_tasks[g_ncg++] = t;
  }
}

/* In the child, first thing: moves itself into each v1 hierarchy's cgroup (and closes the v2 one). */
static void join_own_cgroups(void) {
  for (int i = 0; i < g_ncg; i++) {
    if (write(g_cg_tasks[i], "0", 1) != 1) die("join cgroup %s", g_cg_names[i]);
    close(g_cg_tasks[i]);
  }
  g_ncg = 0;
  if (g_cg2 >= 0) close(g_cg2);
  g_cg2 = -1;
}

/* The parent's side after the clone: closes what the child uses. */
static void close_cgroups(void) {
  for (int i = 0; i < g_ncg; i++) close(g_cg_tasks[i]);
  g_ncg = 0;
  if (g_cg2 >= 0) close(g_cg2);
  g_cg2 = -1;
}

struct skiff_clone_args { /* struct clone_args of <linux/sched.h>, up to `cgroup` (size 88) */
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* clone with fork semantics (the child returns 0 on the same stack), into the v2 cgroup when
 * there is one. *into is set when the kernel placed the child there. */
static pid_t clone_into_cgroup(unsigned long flags, int *into) {
  *into = 0;
  if (g_cg2 >= 0 && !getenv("SKIFF_INIT_NO_CLONE3")) {
    struct skiff_clone_args a = {.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)g_cg2};
    pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
    if (pid >= 0) {
      *into = 1;
      return pid;
    }
    /* refused (ENOSYS, EPERM from a seccomp filter, E2BIG, EINVAL): the classic way below */
  }
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* The fallback for v2 when clone3 was refused: the pid into cgroup.procs (globally locked). */
static void join_cgroup2(pid_t pid) {
  if (!g_cg2_name) return;
  char p[4200], b[32];
  snprintf(p, sizeof p, "%s/cgroup.procs", g_cg2_name);
  snprintf(b, sizeof b, "%d", pid);
  if (write_file(p, b) < 0) die("join cgroup %s", g_cg2_name);
}
