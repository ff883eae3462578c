/* skiff-monitor: reaping (CMD, the container, orphans reparented to the subreaper), adopting the
 * container pid after create, the OOM-kill count, and exit.json (written atomically). */
#include "monitor.h"

static int ctr_status, cmd_exit = -1;
static struct timespec started_at, finished_at;
static struct { pid_t pid; int status; } reaped[MAX_REAPED];
static int n_reaped;

/* ---------- processes ---------- */

long long read_oom_count(void) {
  if (!o_oom_file) return 0;
  int fd = open(o_oom_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char b[1024];
  ssize_t r = read(fd, b, sizeof b - 1);
  close(fd);
  if (r <= 0) return 0;
  b[r] = 0;
  for (char *p = b; (p = strstr(p, "oom_kill")); p += 8) {
    if ((p == b || p[-1] == '\n') && p[8] == ' ') return atoll(p + 9);
  }
  return 0;
}

static void adopt_container(void) {
  int fd = open(o_pid_file, O_RDONLY | O_CLOEXEC);
  char b[32] = {0};
  ssize_t r = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
  if (fd >= 0) close(fd);
  long pid = r > 0 ? strtol(b, NULL, 10) : 0;
  if (pid <= 0) { set_error("container pid file %s missing or invalid after create%s", o_pid_file, 0); return; }
  ctr_pid = (pid_t)pid;
  clock_gettime(CLOCK_REALTIME, &started_at);
  for (int i = 0; i < n_reaped; i++) {
    if (reaped[i].pid == ctr_pid) { ctr_done = 1; ctr_status = reaped[i].status; finished_at = started_at; return; }
  }
  /* CMD's orphans were reparented to us before CMD's own exit was reported. ECHILD means the
   * process is not ours (or CMD reaped it): its status is unknowable, so fail rather than hang. */
  int st;
  pid_t w = waitpid(ctr_pid, &st, WNOHANG | __WALL);
  if (w == ctr_pid) {
    ctr_done = 1;
    ctr_status = st;
    finished_at = started_at;
  } else if (w < 0 && errno == ECHILD) {
    b[strcspn(b, "\n")] = 0;
    set_error("container pid %s is not a child of the monitor (exited before it was adopted?)%s", b, 0);
  }
}

void reap(void) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
    if (p <= 0) return;
    if (p == cmd_pid) {
      cmd_done = 1;
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0) adopt_container();
      else {
        char n[32];
        snprintf(n, sizeof n, "%d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        cmd_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        set_error("create command exited with status %s%s", n, 0);
      }
    } else if (ctr_pid > 0 && p == ctr_pid) {
      ctr_done = 1;
      ctr_status = st;
      clock_gettime(CLOCK_REALTIME, &finished_at);
    } else if (ctr_pid < 0 && n_reaped < MAX_REAPED) {
      reaped[n_reaped].pid = p; /* may be the container, exiting before CMD did */
      reaped[n_reaped++].status = st;
    }
  }
}

static size_t json_str(char *out, size_t cap, const char *s) {
  size_t o = 0;
  for (; *s && o + 8 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') { out[o++] = '\\'; out[o++] = (char)ch; }
    else if (ch < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
    else out[o++] = (char)ch;
  }
  out[o] = 0;
  return o;
}

void write_exit_file(void) {
  static char buf[2048];
  char started[64], finished[64], esc[1100], sig[32] = "null";
  if (!finished_at.tv_sec) clock_gettime(CLOCK_REALTIME, &finished_at);
  if (!started_at.tv_sec) started_at = finished_at;
  fmt_time(&started_at, started);
  fmt_time(&finished_at, finished);
  int code = failed ? cmd_exit : -1;
  if (!failed && ctr_done) {
    if (WIFEXITED(ctr_status)) code = WEXITSTATUS(ctr_status);
    else if (WIFSIGNALED(ctr_status)) {
      int s = WTERMSIG(ctr_status);
      code = 128 + s;
      const char *ab = sigabbrev_np(s);
      if (ab) snprintf(sig, sizeof sig, "\"SIG%s\"", ab);
      else snprintf(sig, sizeof sig, "\"SIG%d\"", s);
    }
  }
  int oom = o_oom_file && read_oom_count() > oom_before;
  int n = snprintf(buf, sizeof buf, "{\"pid\":%d,\"exitCode\":%d,\"signal\":%s,\"oomKilled\":%s,\"startedAt\":\"%s\",\"finishedAt\":\"%s\"",
                   ctr_pid > 0 ? ctr_pid : 0, code, failed ? "null" : sig, oom ? "true" : "false", started, finished);
  if (failed) {
    json_str(esc, sizeof esc, err_msg);
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"error\":\"%s\"", esc);
  }
  n += snprintf(buf + n, sizeof buf - (size_t)n, "}\n");
  int fd = open("exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, buf, (size_t)n);
  /* Renamed first, made durable after: whoever waits for the exit sees it at once (the fsyncs
   * cost 2-20 ms on a busy disk-backed /run), a crash of the monitor never leaves a torn file,
   * and the file and its name are on disk before the monitor goes on. */
  rename("exit.json.tmp", "exit.json");
  fsync(fd);
  close(fd);
  int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { fsync(dfd); close(dfd); }
}
