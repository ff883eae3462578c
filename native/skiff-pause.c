/*
 * skiff-pause: the process that holds a pod sandbox's namespaces (the pause container's role).
 *
 *   skiff-pause [--net] [--ipc] [--uts] [--pid] [--hostname NAME] [--sysctl KEY=VALUE]...
 *               [--cgroup-procs FILE]... [--uid-map C:H:L --gid-map C:H:L]...
 *
 * Joins the cgroups named by their cgroup.procs files; with id maps, first unshares a user
 * namespace whose maps a short-lived helper child writes from outside (a process cannot give its
 * own new namespace a range it does not hold) and becomes its root, so the namespaces unshared
 * next belong to it (a container of the pod may then mount proc, sysfs and mqueue). Unshares the
 * requested namespaces, sets the
 * hostname (new uts namespace) and the sysctls (written under /proc/sys after the unshare, so the
 * namespaced ones land in the new namespaces), then forks the holder: with --pid it is PID 1 of a
 * new pid namespace and reaps the orphans the pod's containers leave there. The invoker prints the
 * holder's host pid on stdout and exits 0 once the holder is ready (signals handled), or non-zero
 * with a message on stderr. The holder has no stdio, lives in its own session, and exits 0 on
 * SIGTERM or SIGINT. Policy-free: what to unshare and set is the caller's decision.
 *
 * Static, -Os, no stdio streams after start-up: the RSS of an idle holder stays well under 0.5 MB.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ITEMS 128

static void die(const char *what, const char *arg) {
  fprintf(stderr, "skiff-pause: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  exit(1);
}

static void write_file(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open", path);
  size_t n = strlen(value);
  if (write(fd, value, n) != (ssize_t)n) die("write", path);
  close(fd);
}

static void on_signal(int sig) { (void)sig; }

/* "C:H:L" → "C H L\n" appended to buf (a uid_map/gid_map line). */
static void add_map(char *buf, size_t size, const char *arg) {
  unsigned long c, h, l;
  char end;
  if (sscanf(arg, "%lu:%lu:%lu%c", &c, &h, &l, &end) != 3 || l == 0) {
    fprintf(stderr, "skiff-pause: id map %s: want CONTAINER:HOST:LENGTH\n", arg);
    exit(2);
  }
  size_t n = strlen(buf);
  if (snprintf(buf + n, size - n, "%lu %lu %lu\n", c, h, l) >= (int)(size - n)) {
    fprintf(stderr, "skiff-pause: too many id maps\n");
    exit(2);
  }
}

/* unshare(CLONE_NEWUSER), the maps written by a forked helper still outside, then root inside. */
static void enter_userns(const char *uid_map, const char *gid_map) {
  int go[2], done[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(done, O_CLOEXEC) != 0) die("pipe", NULL);
  pid_t parent = getpid();
  pid_t helper = fork();
  if (helper < 0) die("fork", NULL);
  if (helper == 0) {
    char c, path[64], ok = '1';
    if (read(go[0], &c, 1) != 1) _exit(1);
    const char *files[2] = {"uid_map", "gid_map"}, *maps[2] = {uid_map, gid_map};
    for (int i = 0; i < 2; i++) {
      snprintf(path, sizeof path, "/proc/%d/%s", (int)parent, files[i]);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      size_t n = strlen(maps[i]);
      if (fd < 0 || write(fd, maps[i], n) != (ssize_t)n) {
        fprintf(stderr, "skiff-pause: write %s: %s\n", path, strerror(errno));
        ok = '0';
        break;
      }
      close(fd);
    }
    _exit(write(done[1], &ok, 1) == 1 && ok == '1' ? 0 : 1);
  }
  close(go[0]);
  close(done[1]);
  if (unshare(CLONE_NEWUSER) != 0) die("unshare", "user");
  char c = 'G', ok = 0;
  if (write(go[1], &c, 1) != 1) die("signal the id map helper", NULL);
  ssize_t r;
  do r = read(done[0], &ok, 1);
  while (r < 0 && errno == EINTR);
  int status;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  if (r != 1 || ok != '1') {
    fprintf(stderr, "skiff-pause: the user namespace's id maps were refused\n");
    exit(1);
  }
  close(go[1]);
  close(done[0]);
  if (setresgid(0, 0, 0) != 0) die("setgid 0 in the user namespace", NULL);
  if (setresuid(0, 0, 0) != 0) die("setuid 0 in the user namespace", NULL);
  if (setgroups(0, NULL) != 0) die("setgroups in the user namespace", NULL);
}

static void hold(int ready_fd) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  /* A pid namespace's init gets signals from outside only for handled ones: install no-op
   * handlers (the signals stay blocked and are taken with sigwaitinfo). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
  setsid();
  if (chdir("/") != 0) _exit(1);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  if (write(ready_fd, "1", 1) != 1) _exit(1);
  close(ready_fd);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig == SIGTERM || sig == SIGINT) _exit(0);
    if (sig == SIGCHLD)
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
  }
}

int main(int argc, char **argv) {
  int flags = 0, newpid = 0, nsysctl = 0, ncg = 0;
  const char *hostname = NULL;
  const char *sysctls[MAX_ITEMS], *cgroups[MAX_ITEMS];
  char uid_map[1024] = "", gid_map[1024] = "";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--net")) flags |= CLONE_NEWNET;
    else if (!strcmp(a, "--ipc")) flags |= CLONE_NEWIPC;
    else if (!strcmp(a, "--uts")) flags |= CLONE_NEWUTS;
    else if (!strcmp(a, "--pid")) newpid = 1;
    else if (!strcmp(a, "--hostname") && i + 1 < argc) hostname = argv[++i];
    else if (!strcmp(a, "--sysctl") && i + 1 < argc && nsysctl < MAX_ITEMS) sysctls[nsysctl++] = argv[++i];
    else if (!strcmp(a, "--cgroup-procs") && i + 1 < argc && ncg < MAX_ITEMS) cgroups[ncg++] = argv[++i];
    else if (!strcmp(a, "--uid-map") && i + 1 < argc) add_map(uid_map, sizeof uid_map, argv[++i]);
    else if (!strcmp(a, "--gid-map") && i + 1 < argc) add_map(gid_map, sizeof gid_map, argv[++i]);
    else {
      fprintf(stderr, "skiff-pause: unknown or incomplete argument %s\n", a);
      return 2;
    }
  }
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  for (int i = 0; i < ncg; i++) write_file(cgroups[i], pid);
  if (!uid_map[0] != !gid_map[0]) {
    fprintf(stderr, "skiff-pause: a user namespace needs both --uid-map and --gid-map\n");
    return 2;
  }
  if (uid_map[0]) enter_userns(uid_map, gid_map);
  if (flags && unshare(flags) != 0) die("unshare", NULL);
  if (hostname) {
    if (!(flags & CLONE_NEWUTS)) {
      fprintf(stderr, "skiff-pause: --hostname needs --uts\n");
      return 2;
    }
    if (sethostname(hostname, strlen(hostname)) != 0) die("sethostname", hostname);
  }
  for (int i = 0; i < nsysctl; i++) {
    const char *eq = strchr(sysctls[i], '=');
    if (!eq || eq == sysctls[i]) {
      fprintf(stderr, "skiff-pause: --sysctl %s: want KEY=VALUE\n", sysctls[i]);
      return 2;
    }
    char path[512];
    int n = snprintf(path, sizeof path, "/proc/sys/%.*s", (int)(eq - sysctls[i]), sysctls[i]);
    if (n <= 0 || n >= (int)sizeof path || strstr(path, "..")) {
      fprintf(stderr, "skiff-pause: --sysctl %s: bad key\n", sysctls[i]);
      return 2;
    }
    for (char *p = path + 10; *p; p++)
      if (*p == '.') *p = '/';
    write_file(path, eq + 1);
  }
  if (newpid && unshare(CLONE_NEWPID) != 0) die("unshare", "pid");
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) die("pipe", NULL);
  pid_t child = fork();
  if (child < 0) die("fork", NULL);
  if (child == 0) {
    close(p[0]);
    hold(p[1]);
  }
  close(p[1]);
  char c;
  ssize_t r;
  do r = read(p[0], &c, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1) {
    fprintf(stderr, "skiff-pause: the holder did not come up\n");
    kill(child, SIGKILL);
    return 1;
  }
  printf("%d\n", (int)child);
  return 0;
}
