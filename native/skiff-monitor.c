/*
 * skiff-monitor: the conmon-like parent of one container (contract: docs/cgroups-and-monitor.md).
 *
 *   skiff-monitor --state-dir DIR --container-pid-file PIDFILE [--log-file F] [--log-max-size BYTES]
 *                 [--log-max-files N] [--tty] [--stdin] [--oom-file PATH] -- CMD [ARGS...]
 *
 * Daemonizes (the invoker returns once DIR/monitor.pid exists), becomes a child subreaper, runs CMD
 * (the runtime's create step) with its stdio on pipes (or receives the pty master over
 * DIR/console.sock with --tty), adopts the container pid named in PIDFILE when CMD exits 0, writes
 * the CRI log (rotating it), serves DIR/attach.sock (Docker stdcopy framing both ways) and finally
 * writes DIR/exit.json atomically. Policy-free: it never signals the container.
 *
 * Single-threaded epoll loop over a signalfd; static buffers; no stdio streams; built -static -Os so
 * an idle monitor stays well under 1.5 MB RSS. This file: options, daemon setup, the event loop and
 * the end of the run; the other concerns are the translation units under monitor/ (monitor.h).
 */
#include "monitor/monitor.h"

/* --- options --- */
const char *o_state_dir, *o_pid_file, *o_log_file, *o_oom_file;
long long o_log_max_size;
int o_log_max_files = 1, o_tty, o_stdin;
char **o_cmd;

/* --- state (shared through monitor/monitor.h) --- */
int epfd = -1, sigfd = -1, attach_lfd = -1, console_lfd = -1;
struct stream streams[3]; /* [0] CMD stdout pipe, [1] CMD stderr pipe, [2] pty master */
int stdin_fd = -1, stdin_close_pending, stdin_out_registered;
char stdin_buf[STDIN_BUF];
size_t stdin_len;
struct client clients[MAX_CLIENTS];
int log_fd = -1;
pid_t cmd_pid = -1, ctr_pid = -1;
int cmd_done, ctr_done, failed;
char err_msg[512];
long long oom_before;
struct winsize pending_ws;
int have_pending_ws;
char rbuf[READ_BUF];

/* ---------- setup ---------- */

static void usage(const char *msg) {
  char b[512];
  int n = snprintf(b, sizeof b, "skiff-monitor: %s\nusage: skiff-monitor --state-dir DIR --container-pid-file PIDFILE [--log-file F] "
                   "[--log-max-size BYTES] [--log-max-files N] [--tty] [--stdin] [--oom-file PATH] -- CMD [ARGS...]\n", msg);
  write_all(2, b, (size_t)n);
  exit(2);
}

static long long parse_num(const char *flag, const char *v) {
  char *end;
  errno = 0;
  long long n = strtoll(v ? v : "", &end, 10);
  if (!v || !*v || *end || errno || n < 0) {
    char b[128];
    snprintf(b, sizeof b, "%s needs a non-negative integer, got \"%s\"", flag, v ? v : "");
    usage(b);
  }
  return n;
}

/* Makes a path absolute against the invoker's cwd (the daemon chdirs into the state dir). */
static const char *absolutize(const char *p) {
  if (!p || p[0] == '/') return p;
  static char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) usage("getcwd failed");
  char *out = malloc(strlen(cwd) + strlen(p) + 2);
  if (!out) exit(1);
  strcpy(out, cwd);
  strcat(out, "/");
  strcat(out, p);
  return out;
}

static void parse_args(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) { i++; break; }
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--state-dir")) { o_state_dir = v; i++; }
    else if (!strcmp(a, "--container-pid-file")) { o_pid_file = v; i++; }
    else if (!strcmp(a, "--log-file")) { o_log_file = v; i++; }
    else if (!strcmp(a, "--log-max-size")) { o_log_max_size = parse_num(a, v); i++; }
    else if (!strcmp(a, "--log-max-files")) { o_log_max_files = (int)parse_num(a, v); i++; }
    else if (!strcmp(a, "--oom-file")) { o_oom_file = v; i++; }
    else if (!strcmp(a, "--tty")) o_tty = 1;
    else if (!strcmp(a, "--stdin")) o_stdin = 1;
    else {
      char b[300];
      snprintf(b, sizeof b, "unknown flag \"%.200s\"", a);
      usage(b);
    }
  }
  if (!o_state_dir) usage("--state-dir is required");
  if (!o_pid_file) usage("--container-pid-file is required");
  if (i >= argc) usage("missing -- CMD");
  if (o_log_max_files > 1000) usage("--log-max-files must be <= 1000");
  o_cmd = argv + i;
  o_pid_file = absolutize(o_pid_file);
  o_log_file = absolutize(o_log_file);
  o_oom_file = absolutize(o_oom_file);
}

static int listen_unix(const char *name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, name, sizeof sa.sun_path - 1);
  unlink(name);
  /* Relative to the state dir (our cwd): no 108-byte sun_path limit on long state paths. */
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) { close(fd); return -1; }
  return fd;
}

/* Reports a setup failure to the invoker (through the ready pipe) and exits. */
static int pid_written; /* monitor.pid published: a setup failure after it withdraws it */

static void setup_fail(int ready_fd, const char *what, int err) {
  if (cmd_pid > 0) kill(cmd_pid, SIGKILL);
  if (pid_written) unlink("monitor.pid");
  char b[512];
  int n = snprintf(b, sizeof b, "skiff-monitor: %s: %s\n", what, strerror(err));
  write_all(ready_fd, b, (size_t)n);
  _exit(1);
}

static void spawn_cmd(int ready_fd) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) setup_fail(ready_fd, "pipe", errno);
  if (o_stdin && !o_tty && pipe2(in, O_CLOEXEC) < 0) setup_fail(ready_fd, "pipe", errno);
  cmd_pid = fork();
  if (cmd_pid < 0) setup_fail(ready_fd, "fork", errno);
  if (cmd_pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    int devnull = open("/dev/null", O_RDWR);
    dup2(in[0] >= 0 ? in[0] : devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvp(o_cmd[0], o_cmd);
    char b[300];
    int n = snprintf(b, sizeof b, "skiff-monitor: exec %.200s: %s\n", o_cmd[0], strerror(errno));
    write_all(2, b, (size_t)n);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  if (in[0] >= 0) close(in[0]);
  streams[0].fd = out[0];
  streams[1].fd = err[0];
  for (int i = 0; i < 2; i++) {
    fcntl(streams[i].fd, F_SETFL, O_NONBLOCK);
    ep_add(streams[i].fd, EPOLLIN, K_STREAM, i);
  }
  if (in[1] >= 0) {
    stdin_fd = in[1];
    fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  }
}

static void daemon_setup(int ready_fd) {
  if (setsid() < 0) setup_fail(ready_fd, "setsid", errno);
  if (chdir(o_state_dir) < 0) setup_fail(ready_fd, "state dir", errno);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGCHLD);
  sigaddset(&m, SIGUSR1); /* reopen the log file (CRI ReopenContainerLog, after a rename) */
  sigprocmask(SIG_BLOCK, &m, NULL);
  sigfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (sigfd < 0 || epfd < 0) setup_fail(ready_fd, "signalfd/epoll", errno);
  ep_add(sigfd, EPOLLIN, K_SIGNAL, 0);
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  for (int i = 0; i < 3; i++) { streams[i].fd = -1; streams[i].id = i == 1 ? S_STDERR : S_STDOUT; }
  streams[2].is_master = 1;
  unlink("exit.json");
  oom_before = read_oom_count();
  if (o_log_file) {
    log_open();
    if (log_fd < 0) setup_fail(ready_fd, o_log_file, errno);
  }
  /* The sockets before CMD: the runtime returns from create once CMD's process is set up (its pid
   * file filled), without waiting for this set-up to finish, and an attach may follow at once. */
  attach_lfd = listen_unix("attach.sock");
  if (attach_lfd < 0) setup_fail(ready_fd, "attach.sock", errno);
  ep_add(attach_lfd, EPOLLIN, K_ATTACH_LISTEN, 0);
  if (o_tty) {
    console_lfd = listen_unix("console.sock");
    if (console_lfd < 0) setup_fail(ready_fd, "console.sock", errno);
    ep_add(console_lfd, EPOLLIN, K_CONSOLE_LISTEN, 0);
  }
  /* monitor.pid before CMD runs: whatever CMD publishes (the container's or exec's pid file, which
   * the runtime returns on without waiting for this invoker) must find the monitor already known,
   * or a waitExit, delete or log follower in that window judges a live monitor gone (seen under
   * load: a monitor held 40+ ms between its fork of CMD and this rename). */
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d", getpid());
  int fd = open("monitor.pid.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, pid, (size_t)n) < 0 || close(fd) < 0 || rename("monitor.pid.tmp", "monitor.pid") < 0) {
    setup_fail(ready_fd, "monitor.pid", errno);
  }
  pid_written = 1;
  spawn_cmd(ready_fd);
  close(ready_fd); /* EOF without a message = ready */
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  if (devnull > 2) close(devnull);
}

static void handle(uint64_t tag, uint32_t events) {
  int kind = (int)(tag >> 32), idx = (int)(uint32_t)tag;
  switch (kind) {
  case K_SIGNAL: {
    struct signalfd_siginfo si;
    int reopen = 0;
    while (read(sigfd, &si, sizeof si) == sizeof si)
      if (si.ssi_signo == SIGUSR1) reopen = 1;
    if (reopen && o_log_file) {
      if (log_fd >= 0) close(log_fd);
      log_open();
    }
    reap();
    break;
  }
  case K_ATTACH_LISTEN: attach_accept(); break;
  case K_CONSOLE_LISTEN: console_accept(); break;
  case K_STREAM:
    if (idx == 2 && (events & EPOLLOUT)) stdin_flush();
    if (streams[idx].fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) stream_read(idx);
    break;
  case K_STDIN: stdin_flush(); break;
  case K_CLIENT:
    if (clients[idx].fd < 0) break;
    if (events & EPOLLOUT) client_flush(idx);
    if (clients[idx].fd >= 0 && (events & (EPOLLHUP | EPOLLERR))) client_close(idx); /* gone both ways */
    else if (clients[idx].fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP))) client_read(idx);
    break;
  }
}

static void finish(void) {
  for (int i = 0; i < 3; i++) if (streams[i].fd >= 0) stream_eof(i);
  if (stdin_fd >= 0 && !o_tty) close(stdin_fd);
  attach_accept(); /* connected before the end: they get a clean EOF, not a reset */
  close(attach_lfd);
  attach_lfd = -1;
  if (console_lfd >= 0) close(console_lfd);
  write_exit_file(); /* first: whoever waits for the exit is told before the clean-up below */
  unlink("attach.sock");
  if (console_lfd >= 0) unlink("console.sock");
  clients_drain();
  unlink("monitor.pid");
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  struct stat st;
  if (stat(o_state_dir, &st) < 0 || !S_ISDIR(st.st_mode)) usage("--state-dir must be an existing directory");
  close_range(3, ~0U, 0);
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) usage("pipe failed");
  pid_t p = fork();
  if (p < 0) usage("fork failed");
  if (p > 0) {
    /* The invoker's side: wait for "ready" (EOF) or an error message, then return. */
    close(ready[1]);
    char b[512];
    ssize_t n, total = 0;
    while ((n = read(ready[0], b + total, sizeof b - 1 - (size_t)total)) > 0 || (n < 0 && errno == EINTR)) if (n > 0) total += n;
    if (total > 0) { write_all(2, b, (size_t)total); return 1; }
    char pidpath[PATH_MAX];
    snprintf(pidpath, sizeof pidpath, "%s/monitor.pid", o_state_dir);
    if (access(pidpath, F_OK) < 0 && kill(p, 0) < 0) { write_all(2, "skiff-monitor: monitor died during setup\n", 42); return 1; }
    /* The monitor's pid on stdout: monitor.pid may already be gone again if CMD failed at once. */
    char pb[24];
    write_all(1, pb, (size_t)snprintf(pb, sizeof pb, "%d\n", p));
    return 0;
  }
  close(ready[0]);
  daemon_setup(ready[1]);

  struct epoll_event evs[32];
  for (;;) {
    int done_proc = failed ? cmd_done : ctr_done;
    if (done_proc && open_streams() == 0) break;
    int timeout = done_proc ? DRAIN_IDLE_MS : -1;
    int n = epoll_wait(epfd, evs, 32, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      set_error("epoll_wait%s: %s", "", errno);
      break;
    }
    if (n == 0 && done_proc) break; /* output still open (a leftover holds the pipe): stop waiting */
    for (int i = 0; i < n; i++) handle(evs[i].data.u64, evs[i].events);
  }
  finish();
  return 0;
}
