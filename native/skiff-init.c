/* skiff-init: the kernel half of Skiff's OCI runtime. No policy: the TypeScript runtime decides
 * everything and writes it into a spec file (see skiff-init-spec.h); this program only applies it.
 *
 *   skiff-init create SPEC   clone the container init with the requested namespaces, set it up and
 *                            leave it blocked on the exec fifo; exit 0 once it is ready (or, with a
 *                            `foreground` record, stay as its parent, forward signals, exit with
 *                            its status).
 *   skiff-init exec SPEC     join the namespaces and cgroups of a running container, fork, apply the
 *                            process spec and exec (detached or waiting). */
#include "skiff-init-cgroup.h"
#include "skiff-init-mounts.h"
#include "skiff-init-proc.h"
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static const struct { const char *name; int flag; } NS[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};

static int ns_flag(const char *name) {
  for (size_t i = 0; i < sizeof NS / sizeof *NS; i++) if (!strcmp(NS[i].name, name)) return NS[i].flag;
  DIE("unknown namespace type %s", name);
}

static pid_t g_child;
static int g_fifo = -1; /* the exec fifo, opened (O_PATH) by the parent: host paths may not be
                          * reachable for a child in a user namespace */

static void forward(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

/* Waits for the child, forwarding signals, and returns its status as a shell would (128+signal).
 * With a ready descriptor, the raw wait status is written there first ("x STATUS"), so the
 * runtime tells a signal death from an exit code above 128. */
static int wait_forwarding(pid_t child, int readyfd) {
  g_child = child;
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
  struct sigaction sa = {.sa_handler = forward};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
  int st;
  for (;;) {
    pid_t r = waitpid(child, &st, 0);
    if (r == child) break;
    if (r < 0 && errno != EINTR) die("wait for container process");
  }
  trace("parent:reaped");
  if (readyfd >= 0) {
    dprintf(readyfd, "x %d\n", st);
    close(readyfd);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int g_pidfd = -1; /* opened at start, like the error file */

static void write_pidfile(pid_t pid) {
  if (g_pidfd < 0) return;
  char b[32];
  int n = snprintf(b, sizeof b, "%d", pid);
  if (pwrite(g_pidfd, b, n, 0) != n) die("write pid file");
  close(g_pidfd);
  g_pidfd = -1;
}

static void write_idmap(pid_t pid, const char *key, const char *file) {
  char buf[4096] = "", p[64];
  size_t off = 0;
  FOR_KEY(l, key) off += snprintf(buf + off, sizeof buf - off, "%s %s %s\n", l->f[0], l->f[1], l->f[2]);
  if (!off) return;
  snprintf(p, sizeof p, "/proc/%d/%s", pid, file);
  if (write_file(p, buf) < 0) die("write %s", file);
}

/* Reads one message from the child: 'G'/'R' status byte, or 'E' followed by an error text. */
static char read_sync(int fd, char *err, size_t errlen) {
  char buf[2100];
  ssize_t n;
  /* ECONNRESET: the peer closed with our last message unread in its queue (a child that failed
   * while we sent "C"); the kernel reports that error before the messages still queued for us —
   * the child's error among them — so read again. */
  int resets = 0;
  do n = read(fd, buf, sizeof buf - 1); while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !resets++)));
  if (n <= 0) return 0;
  if (buf[0] == 'E') {
    size_t len = (size_t)n - 1 < errlen - 1 ? (size_t)n - 1 : errlen - 1;
    memcpy(err, buf + 1, len);
    err[len] = 0;
  }
  return buf[0];
}

/* Namespaces given by path are joined by this process before cloning (user first). */
static void join_ns_paths(void) {
  int fds[8], flags[8], n = 0;
  for (int pass = 0; pass < 2; pass++) {
    FOR_KEY(l, "nsjoin") {
      int f = ns_flag(l->f[0]);
      if ((pass == 0) != (f == CLONE_NEWUSER)) continue;
      if (n == 8) DIE("too many namespaces to join");
      fds[n] = open(l->f[1], O_RDONLY | O_CLOEXEC);
      if (fds[n] < 0) die("open namespace %s", l->f[1]);
      flags[n++] = f;
    }
  }
  for (int i = 0; i < n; i++) {
    if (setns(fds[i], flags[i]) < 0) die("join namespace (%d)", flags[i]);
    close(fds[i]);
  }
}

/* Blocks opening the exec fifo for writing until the runtime opens it for reading (`start`). */
static void release_wait(void) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", g_fifo);
  int w = open(p, O_WRONLY | O_CLOEXEC);
  if (w < 0) die("open exec fifo");
  if (write(w, "0", 1) != 1) die("write exec fifo");
  close(w);
  close(g_fifo);
  g_fifo = -1;
}

/* Whether the spec joins a user namespace by path (a pod's, held by its sandbox). */
static int joins_userns(void) {
  FOR_KEY(l, "nsjoin") if (ns_flag(l->f[0]) == CLONE_NEWUSER) return 1;
  return 0;
}

static void child_setup(int flags, int sync) {
  /* In a new or a joined user namespace the set-up runs as its root, as runc's: host uid 0 is not
   * mapped there, and files it made on the namespace's mounts would be refused (EOVERFLOW). */
  int userns = (flags & CLONE_NEWUSER) != 0 || joins_userns();
  if (userns) {
    if (setresgid(0, 0, 0) < 0) die("setgid 0 in user namespace");
    if (setresuid(0, 0, 0) < 0) die("setuid 0 in user namespace");
  }
  join_own_cgroups(); /* before anything else, as runc: the set-up runs inside the cgroups */
  trace("child:joined");
  /* the cgroup namespace is rooted at the cgroup the process is in, joined above */
  if (get1("cgroupns") && unshare(CLONE_NEWCGROUP) < 0) die("unshare cgroup namespace");
  const char *h = get1("hostname");
  if (h && sethostname(h, strlen(h)) < 0) die("sethostname");
  const char *dn = get1("domainname");
  if (dn && setdomainname(dn, strlen(dn)) < 0) die("setdomainname");
  const char *kr = get1("keyring");
  if (kr && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, kr) < 0 && errno != ENOSYS && errno != EPERM)
    die("join session keyring");
  int fifo = g_fifo;
  trace("child:ns-ready");
  setup_rootfs(userns);
  trace("child:mounted");
  enter_rootfs();
  trace("child:pivoted");
  finish_rootfs();
  trace("child:rootfs-done");
  const char *exe = prepare_process();
  trace("child:process-ready");
  if (send(sync, "R", 1, MSG_NOSIGNAL) != 1) _exit(1);
  if (fifo >= 0) {
    release_wait();
    trace("child:released");
  }
  do_exec(exe);
}

static int cmd_create(void) {
  int flags = 0;
  /* The ready socket is for skiff-init's parent half only: the container must not inherit it. */
  const char *ready = get1("readyfd");
  if (ready) fcntl((int)num(ready, "readyfd"), F_SETFD, FD_CLOEXEC);
  FOR_KEY(l, "ns") {
    int f = ns_flag(l->f[0]);
    if (f != CLONE_NEWCGROUP) flags |= f; /* the cgroup namespace is unshared after joining the cgroup */
  }
  if (!(flags & CLONE_NEWNS)) DIE("a mount namespace is required");
  const char *fp = get1("fifo");
  if (fp) {
    if (mkfifo(fp, 0622) < 0 && errno != EEXIST) die("create exec fifo %s", fp);
    if (chmod(fp, 0622) < 0) die("chmod exec fifo");
    if ((g_fifo = open(fp, O_PATH | O_CLOEXEC)) < 0) die("open exec fifo %s", fp);
  }
  connect_console();
  join_ns_paths();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
  open_cgroups();
  trace("parent:clone");
  int into;
  pid_t pid = clone_into_cgroup((unsigned long)flags, &into);
  if (pid < 0) die("clone");
  if (pid == 0) {
    close(sv[0]);
    g_child_sync = sv[1];
    char go = 0;
    if (read(sv[1], &go, 1) != 1 || go != 'G') _exit(1);
    child_setup(flags, sv[1]);
  }
  close(sv[1]);
  trace("parent:cloned");
  if (get1("foreground")) {
    /* Kept open until this process ends: when the container's init exits, the last reference to
     * its mount namespace goes and the kernel unmounts everything in it (an expedited RCU grace
     * period, up to ~10 ms under load here) inside that exit, before the exit is reported to us.
     * Held here, that happens as this process ends, after it has reported the status; the runtime
     * waits for our end in delete, so nothing of the container outlives delete. Best effort. */
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/mnt", pid);
    if (open(p, O_RDONLY | O_CLOEXEC) < 0) { /* the exit pays for the teardown, as before */ }
  }
  g_kill_on_die = pid;
  if (!into) join_cgroup2(pid);
  close_cgroups();
  if (flags & CLONE_NEWUSER) {
    write_idmap(pid, "uidmap", "uid_map");
    write_idmap(pid, "gidmap", "gid_map");
  }
  const char *oom = get1("oomscore");
  if (oom) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/oom_score_adj", pid);
    if (write_file(p, oom) < 0) { kill(pid, SIGKILL); die("set oom_score_adj"); }
  }
  if (write(sv[0], "G", 1) != 1) die("sync with container");
  g_kill_on_die = 0;
  char err[2048] = "";
  char r = read_sync(sv[0], err, sizeof err);
  if (r != 'R') {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    DIE("%s", r == 'E' ? err : "container init exited during setup");
  }
  trace("parent:ready");
  write_pidfile(pid);
  const char *rfd = get1("readyfd");
  if (!get1("foreground")) return 0;
  int fd = -1;
  if (rfd) {
    fd = (int)num(rfd, "readyfd");
    dprintf(fd, "%d\n", pid);
  }
  close(sv[0]);
  return wait_forwarding(pid, fd);
}

static int cmd_exec(void) {
  const char *ps = get1("pid");
  if (!ps) DIE("exec spec has no pid");
  pid_t target = (pid_t)num(ps, "pid");
  /* `fifo PATH`: the process is set up, then waits (as create's init does) until the runtime opens
   * the fifo, so a caller can attach to its monitor before it runs. Opened before the namespaces
   * change, while the host path is reachable. */
  const char *fp = get1("fifo");
  if (fp) {
    if (mkfifo(fp, 0622) < 0 && errno != EEXIST) die("create exec fifo %s", fp);
    /* As for create: past the umask, so an exec as another user without CAP_DAC_OVERRIDE can open it. */
    if (chmod(fp, 0622) < 0) die("chmod exec fifo");
    if ((g_fifo = open(fp, O_PATH | O_CLOEXEC)) < 0) die("open exec fifo %s", fp);
  }
  /* into the container's cgroups: v1 by moving this (single-threaded) process's thread, exempt
   * from the kernel's global cgroup lock; v2 through cgroup.procs */
  open_cgroups();
  join_own_cgroups();
  join_cgroup2(getpid());
  close_cgroups();
  connect_console();
  int fds[8], flags[8], n = 0;
  /* user first (it grants the rights for the others), mnt last (it changes our root) */
  static const char *order[] = {"user", "ipc", "uts", "net", "pid", "cgroup", "mnt"};
  for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
    int wanted = 0;
    FOR_KEY(l, "nsjoin") if (!strcmp(l->f[0], order[i])) wanted = 1;
    if (!wanted) continue;
    char p[64], s[64];
    struct stat a, b;
    snprintf(p, sizeof p, "/proc/%d/ns/%s", target, order[i]);
    snprintf(s, sizeof s, "/proc/self/ns/%s", order[i]);
    if (stat(p, &a) < 0) die("container process %d is gone", target);
    if (stat(s, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    if ((fds[n] = open(p, O_RDONLY | O_CLOEXEC)) < 0) die("open %s", p);
    flags[n++] = ns_flag(order[i]);
  }
  for (int i = 0; i < n; i++) {
    if (setns(fds[i], flags[i]) < 0) die("join %s namespace of %d", order[i], target);
    close(fds[i]);
    if (flags[i] == CLONE_NEWUSER && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become root in user namespace");
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    g_child_sync = sv[1];
    const char *exe = prepare_process();
    if (g_fifo >= 0) release_wait();
    do_exec(exe);
  }
  close(sv[1]);
  if (g_fifo >= 0) close(g_fifo);
  if (g_console >= 0) close(g_console);
  if (g_fifo >= 0) write_pidfile(pid); /* known now; the runtime reads it once it released the process */
  char err[2048] = "";
  if (read_sync(sv[0], err, sizeof err) == 'E') { /* EOF means execve succeeded (close-on-exec) */
    waitpid(pid, NULL, 0);
    DIE("%s", err);
  }
  close(sv[0]);
  write_pidfile(pid);
  if (get1("detach")) return 0;
  const char *rfd = get1("readyfd");
  int fd = -1;
  if (rfd) {
    fd = (int)num(rfd, "readyfd");
    dprintf(fd, "%d\n", pid);
  }
  return wait_forwarding(pid, fd);
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "create") && strcmp(argv[1], "exec"))) {
    fprintf(stderr, "usage: skiff-init create|exec SPECFILE (run by the Skiff runtime)\n");
    return 2;
  }
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  parse_spec(argv[2]);
  const char *tf = get1("trace");
  if (tf && (g_tracefd = open(tf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
    char b[64];
    int n = snprintf(b, sizeof b, "main %lld\n", (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec);
    if (write(g_tracefd, b, n) < 0) { /* best effort */ }
    trace("spec-parsed");
  }
  const char *ef = get1("errfile"), *pf = get1("pidfile");
  /* exec joins the container's mount namespace, where the host path is out of reach: open it now */
  if (ef && !strcmp(argv[1], "exec")) g_errfd = open(ef, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  else g_errpath = ef;
  if (pf && (g_pidfd = open(pf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) die("open pid file %s", pf);
  read_last_cap();
  signal(SIGPIPE, SIG_IGN);
  prepare_seccomp();
  trace("seccomp-ready");
  return !strcmp(argv[1], "create") ? cmd_create() : cmd_exec();
}
