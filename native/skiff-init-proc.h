/* skiff-init: the process part of the spec — rlimits, console, user and groups, capabilities,
 * no_new_privs, seccomp (libseccomp), executable lookup. Shared by create and exec. */
#pragma once
#include "skiff-init-spec.h"
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>

static int g_console = -1; /* connected console socket */

static void connect_console(void) {
  const char *path = get1("console");
  if (!path) return;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) DIE("console socket path too long: %s", path);
  strcpy(a.sun_path, path);
  g_console = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (g_console < 0 || connect(g_console, (struct sockaddr *)&a, sizeof a) < 0) die("connect console socket %s", path);
}

/* Creates a pty in the container's devpts, sends the master over the console socket (runc's
 * protocol: one message, the pty name as data, the fd as SCM_RIGHTS) and makes the slave the
 * process's stdio and controlling terminal. */
static void setup_console(uid_t uid) {
  if (g_console < 0) return;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  char name[64];
  int ptn;
  if (ioctl(master, TIOCGPTN, &ptn) < 0) die("pty number");
  snprintf(name, sizeof name, "/dev/pts/%d", ptn);
  if (slave < 0) slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) die("open %s", name);
  if (fchown(slave, uid, (gid_t)-1) < 0 && errno != EINVAL) { /* best effort, as runc */ }
  struct line *sz = getl("consolesize");
  if (sz && sz->n >= 2) {
    struct winsize ws = {.ws_row = (unsigned short)num(sz->f[0], "rows"), .ws_col = (unsigned short)num(sz->f[1], "cols")};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(g_console, &msg, MSG_NOSIGNAL) < 0) die("send pty master over console socket");
  close(master);
  close(g_console);
  g_console = -1;
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("set controlling terminal");
  for (int i = 0; i < 3; i++) if (dup2(slave, i) < 0) die("dup2 pty");
  if (slave > 2) close(slave);
}

static void apply_rlimits(void) {
  FOR_KEY(l, "rlimit") {
    struct rlimit r = {.rlim_cur = num(l->f[1], "rlimit soft"), .rlim_max = num(l->f[2], "rlimit hard")};
    if (setrlimit((int)num(l->f[0], "rlimit"), &r) < 0) die("setrlimit %s", l->f[0]);
  }
}

static const char *g_envp_path(void) {
  FOR_KEY(l, "env") if (!strncmp(l->f[0], "PATH=", 5)) return l->f[0] + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* Resolves args[0] like execvp with the container's PATH, so a missing binary fails create. */
static const char *find_exe(const char *arg0) {
  static char buf[4096];
  if (strchr(arg0, '/')) {
    /* runc's words (Go's lower-case errno strings): the CLI maps "permission denied" to exit code 126
     * and "no such file or directory" to 127, case-sensitively; a directory is not executable. */
    struct stat st;
    if (stat(arg0, &st) < 0) {
      int e = errno;
      DIE("exec: \"%s\": stat %s: %s", arg0, arg0,
          e == ENOENT ? "no such file or directory" : e == ENOTDIR ? "not a directory"
          : e == EACCES ? "permission denied" : strerror(e));
    }
    if (!S_ISREG(st.st_mode) || access(arg0, X_OK) < 0) DIE("exec: \"%s\": permission denied", arg0);
    return arg0;
  }
  const char *p = g_envp_path();
  while (*p) {
    const char *e = strchr(p, ':');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, arg0);
    struct stat st;
    if (n && stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return buf;
    if (!e) break;
    p = e + 1;
  }
  DIE("exec: \"%s\": executable file not found in $PATH", arg0);
}

static uint32_t seccomp_action(const char *name, const char *ret) {
  int e = ret && *ret ? (int)num(ret, "errnoRet") : EPERM;
  if (!strcmp(name, "SCMP_ACT_ALLOW")) return SCMP_ACT_ALLOW;
  if (!strcmp(name, "SCMP_ACT_ERRNO")) return SCMP_ACT_ERRNO(e);
  if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD")) return SCMP_ACT_KILL;
  if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) return SCMP_ACT_KILL_PROCESS;
  if (!strcmp(name, "SCMP_ACT_TRAP")) return SCMP_ACT_TRAP;
  if (!strcmp(name, "SCMP_ACT_TRACE")) return SCMP_ACT_TRACE(e);
  if (!strcmp(name, "SCMP_ACT_LOG")) return SCMP_ACT_LOG;
  DIE("unsupported seccomp action %s", name);
}

static enum scmp_compare seccomp_op(const char *name) {
  static const struct { const char *n; enum scmp_compare op; } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) if (!strcmp(ops[i].n, name)) return ops[i].op;
  DIE("unsupported seccomp operator %s", name);
}

/* The filter is compiled (or read from the cache) before pivot_root/setns, while host paths are
 * still reachable, and loaded later with seccomp(2). Compiling a Docker-sized profile for three
 * architectures costs libseccomp ~30 ms, so the runtime names a cache file (`sccache PATH`, keyed
 * by a hash of the rules): the exported BPF is reused by later containers with the same rules. */
static struct sock_fprog g_filter;
static int g_have_filter;

static void read_filter(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) die("stat seccomp filter");
  if (st.st_size == 0 || st.st_size % sizeof(struct sock_filter)) DIE("bad seccomp filter size %ld", (long)st.st_size);
  struct sock_filter *f = malloc(st.st_size);
  if (pread(fd, f, st.st_size, 0) != st.st_size) die("read seccomp filter");
  g_filter.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
  g_filter.filter = f;
  g_have_filter = 1;
}

/* seccomp DEFAULT ERRNO; scarch NAME; sc NAME ACTION ERRNO [INDEX OP VALUE VALUE2]... */
static void prepare_seccomp(void) {
  struct line *d = getl("seccomp");
  if (!d) return;
  const char *cache = get1("sccache");
  if (cache) {
    int fd = open(cache, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) { read_filter(fd); close(fd); return; }
  }
  uint32_t def = seccomp_action(d->f[0], d->n > 1 ? d->f[1] : NULL);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) DIE("seccomp_init failed");
  FOR_KEY(l, "scarch") {
    uint32_t a = seccomp_arch_resolve_name(l->f[0]);
    if (!a) continue;
    int r = seccomp_arch_add(ctx, a);
    if (r < 0 && r != -EEXIST) { errno = -r; die("seccomp arch %s", l->f[0]); }
  }
  FOR_KEY(l, "sc") {
    int nr = seccomp_syscall_resolve_name(l->f[0]);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown on this kernel/arch: skipped, as runc does */
    uint32_t act = seccomp_action(l->f[1], l->f[2]);
    if (act == def) continue;
    int nargs = (l->n - 3) / 4;
    struct scmp_arg_cmp args[6];
    int dup = 0;
    if (nargs > 6) DIE("seccomp rule for %s has more than 6 args", l->f[0]);
    for (int i = 0; i < nargs; i++) {
      char **f = l->f + 3 + i * 4;
      args[i] = (struct scmp_arg_cmp){.arg = (unsigned)num(f[0], "seccomp arg index"), .op = seccomp_op(f[1]),
                                      .datum_a = num(f[2], "seccomp value"), .datum_b = num(f[3], "seccomp valueTwo")};
      for (int j = 0; j < i; j++) if (args[j].arg == args[i].arg) dup = 1;
    }
    int r;
    if (dup) { /* several conditions on one argument: one rule each (any may match) */
      for (int i = 0; i < nargs; i++) {
        r = seccomp_rule_add_array(ctx, act, nr, 1, &args[i]);
        if (r < 0 && r != -EEXIST) { errno = -r; die("seccomp rule %s", l->f[0]); }
      }
      continue;
    }
    r = seccomp_rule_add_array(ctx, act, nr, nargs, args);
    if (r < 0 && r != -EEXIST) { errno = -r; die("seccomp rule %s", l->f[0]); }
  }
  char tmp[4200];
  int fd;
  if (cache) {
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", cache, getpid());
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  } else {
    fd = memfd_create("seccomp", MFD_CLOEXEC);
  }
  if (fd < 0) die("seccomp filter file");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0) { errno = -r; die("export seccomp filter"); }
  read_filter(fd);
  close(fd);
  if (cache && rename(tmp, cache) < 0) unlink(tmp);
  seccomp_release(ctx);
}

static void apply_seccomp(void) {
  if (!g_have_filter) return;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &g_filter) < 0) die("load seccomp filter");
}

static int g_last_cap = CAP_LAST_CAP;

static void read_last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char b[16] = {0};
  if (read(fd, b, sizeof b - 1) > 0) g_last_cap = atoi(b);
  close(fd);
}

/* Bounding set, then user and groups (keeping capabilities across the uid change), then the
 * effective/permitted/inheritable sets, then ambient. caps EFF PERM INH BND AMB (hex masks). */
static void apply_user_and_caps(void) {
  struct line *c = getl("caps");
  uint64_t eff = 0, perm = 0, inh = 0, bnd = 0, amb = 0;
  if (c) {
    eff = num(c->f[0], "caps"); perm = num(c->f[1], "caps"); inh = num(c->f[2], "caps");
    bnd = num(c->f[3], "caps"); amb = num(c->f[4], "caps");
    for (int i = 0; i <= g_last_cap; i++)
      if (!(bnd & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0) die("drop bounding capability %d", i);
  }
  struct line *u = getl("user");
  uid_t uid = u ? (uid_t)num(u->f[0], "uid") : 0;
  gid_t gid = u ? (gid_t)num(u->f[1], "gid") : 0;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("keepcaps");
  struct line *g = getl("gids");
  gid_t gids[256];
  int ng = 0;
  for (int i = 0; g && i < g->n && i < 256; i++) gids[ng++] = (gid_t)num(g->f[i], "gid");
  if (setgroups(ng, gids) < 0 && !(errno == EPERM && ng == 0)) die("setgroups");
  if (setresgid(gid, gid, gid) < 0) die("setgid %u", gid);
  if (setresuid(uid, uid, uid) < 0) die("setuid %u", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die("keepcaps");
  if (!c) return;
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)}};
  if (syscall(SYS_capset, &h, data) < 0) die("capset");
  for (int i = 0; i <= g_last_cap; i++)
    if ((amb & (1ULL << i)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0) die("raise ambient capability %d", i);
}

/* HOME for a process whose env has none, as runc sets it: the user's entry in the container's
 * /etc/passwd, else "/". Looked up before the uid changes (the file may be readable by root only). */
static char *g_home;

static void lookup_home(uid_t uid) {
  FOR_KEY(l, "env") if (!strncmp(l->f[0], "HOME=", 5)) return;
  g_home = "HOME=/";
  FILE *f = fopen("/etc/passwd", "re");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *fld[7] = {0}, *p = line;
    int n = 0;
    line[strcspn(line, "\n")] = 0;
    /* strsep keeps empty fields (a passwd line may have an empty gecos) */
    while (n < 7 && (fld[n] = strsep(&p, ":")) != NULL) n++;
    if (n < 6 || !*fld[2]) continue;
    char *end;
    unsigned long v = strtoul(fld[2], &end, 10);
    if (*end || v != uid) continue;
    if (*fld[5] && asprintf(&g_home, "HOME=%s", fld[5]) < 0) g_home = "HOME=/";
    break;
  }
  fclose(f);
}

/* The process part common to create and exec, ending just before execve. Returns the path. */
static const char *prepare_process(void) {
  struct line *u = getl("user");
  lookup_home(u ? (uid_t)num(u->f[0], "uid") : 0);
  apply_rlimits();
  /* Its own session, as runc gives every container process (init and exec): job-control signals
   * of the caller's terminal do not reach it, and a pty can become its controlling terminal. */
  if (setsid() < 0) die("setsid");
  setup_console(u ? (uid_t)num(u->f[0], "uid") : 0);
  const char *um = get1("umask");
  if (um) umask((mode_t)num(um, "umask"));
  const char *cwd = get1("cwd");
  if (cwd && mkdir_p(cwd) < 0 && errno != EACCES) die("create cwd %s", cwd);
  int nnp = get1("nnp") != NULL;
  if (!nnp) apply_seccomp(); /* needs CAP_SYS_ADMIN without no_new_privs: before dropping */
  apply_user_and_caps();
  if (cwd && chdir(cwd) < 0) die("chdir to cwd (\"%s\") set in config.json", cwd);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
  if (nnp) apply_seccomp();
  struct line *a = getl("args");
  if (!a || a->n == 0) DIE("process.args is empty");
  const char *exe = find_exe(a->f[0]);
  /* Node may have left our inherited stdio non-blocking; the container expects blocking fds. */
  for (int i = 0; i < 3; i++) {
    int fl = fcntl(i, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(i, F_SETFL, fl & ~O_NONBLOCK);
  }
  return exe;
}

/* Every descriptor above stdio (and the `preservefds N` passed ones, runc's --preserve-fds) is
 * closed at exec, as runc does: nothing the runtime or its caller holds reaches the container. */
static void close_extra_fds(void) {
  const char *pf = get1("preservefds");
  unsigned int first = 3 + (pf ? (unsigned int)num(pf, "preservefds") : 0);
  if (syscall(SYS_close_range, first, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0) return;
  for (int fd = (int)first; fd < 1024; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
}

static void do_exec(const char *exe) {
  struct line *a = getl("args");
  int ne = 0;
  FOR_KEY(l, "env") ne++;
  char **envp = calloc(ne + 2, sizeof *envp);
  ne = 0;
  FOR_KEY(l, "env") envp[ne++] = l->f[0];
  if (g_home) envp[ne++] = g_home;
  char **argv = calloc(a->n + 1, sizeof *argv);
  for (int i = 0; i < a->n; i++) argv[i] = a->f[i];
  close_extra_fds();
  execve(exe, argv, envp);
  die("exec %s", exe);
}
