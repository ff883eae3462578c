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
 * an idle monitor stays well under 1.5 MB RSS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_CRI 16384   /* CRI: lines longer than this are split into P records */
#define READ_BUF 32768
#define MAX_CLIENTS 64
#define CLIENT_OUT_MAX (1 << 20) /* a client that falls this far behind is dropped */
#define STDIN_BUF 65536
#define DRAIN_IDLE_MS 500   /* after the container exits: give up on EOF after this long without data */
#define MAX_REAPED 64

enum { K_SIGNAL = 1, K_ATTACH_LISTEN, K_CONSOLE_LISTEN, K_STREAM, K_STDIN, K_CLIENT };
enum { S_STDOUT = 1, S_STDERR = 2 };

struct stream {
  int fd;
  int id; /* S_STDOUT / S_STDERR */
  int is_master;
  size_t len;
  char line[LINE_MAX_CRI];
};

struct client {
  int fd;
  unsigned char hdr[8];
  int hdr_len;
  int type;         /* frame being read: -1 = reading header */
  uint32_t left;    /* payload bytes still to read */
  unsigned char ctl[4];
  int ctl_len;
  char *out;        /* pending output (malloc'd on demand) */
  size_t out_off, out_len, out_cap;
  int rd_closed;    /* the client half-closed (shutdown SHUT_WR): keep sending it output */
};

/* --- options --- */
static const char *o_state_dir, *o_pid_file, *o_log_file, *o_oom_file;
static long long o_log_max_size;
static int o_log_max_files = 1, o_tty, o_stdin;
static char **o_cmd;

/* --- state --- */
static int epfd = -1, sigfd = -1, attach_lfd = -1, console_lfd = -1;
static struct stream streams[3]; /* [0] CMD stdout pipe, [1] CMD stderr pipe, [2] pty master */
static int stdin_fd = -1, stdin_close_pending, stdin_out_registered;
static char stdin_buf[STDIN_BUF];
static size_t stdin_len;
static struct client clients[MAX_CLIENTS];
static int clients_paused;
static int log_fd = -1;
static long long log_size;
static pid_t cmd_pid = -1, ctr_pid = -1;
static int cmd_done, ctr_done, ctr_status, failed, cmd_exit = -1;
static char err_msg[512];
static long long oom_before;
static struct timespec started_at, finished_at;
static struct { pid_t pid; int status; } reaped[MAX_REAPED];
static int n_reaped;
static struct winsize pending_ws;
static int have_pending_ws;
static char rbuf[READ_BUF];

static void set_error(const char *fmt, const char *a, int err) {
  if (failed) return;
  failed = 1;
  snprintf(err_msg, sizeof err_msg, fmt, a ? a : "", err ? strerror(err) : "");
}

static void fmt_time(const struct timespec *ts, char *out /* >= 64 */) {
  struct tm tm;
  gmtime_r(&ts->tv_sec, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int writev_all(int fd, struct iovec *iov, int cnt) {
  while (cnt > 0) {
    ssize_t w = writev(fd, iov, cnt);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    while (cnt > 0 && (size_t)w >= iov->iov_len) { w -= (ssize_t)iov->iov_len; iov++; cnt--; }
    if (cnt > 0) { iov->iov_base = (char *)iov->iov_base + w; iov->iov_len -= (size_t)w; }
  }
  return 0;
}

static void ep_add(int fd, uint32_t events, int kind, int idx) {
  struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)kind << 32) | (uint32_t)idx};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}
static void ep_mod(int fd, uint32_t events, int kind, int idx) {
  struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)kind << 32) | (uint32_t)idx};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* ---------- log file ---------- */

static void log_open(void) {
  log_fd = open(o_log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  struct stat st;
  log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
}

static void log_rotate(void) {
  char from[PATH_MAX], to[PATH_MAX];
  if (log_fd >= 0) close(log_fd);
  for (int i = o_log_max_files - 1; i >= 1; i--) {
    snprintf(from, sizeof from, "%s.%d", o_log_file, i);
    snprintf(to, sizeof to, "%s.%d", o_log_file, i + 1);
    rename(from, to);
  }
  snprintf(to, sizeof to, "%s.1", o_log_file);
  if (o_log_max_files >= 1) rename(o_log_file, to);
  else unlink(o_log_file);
  log_open();
}

/* One CRI record: "<time> <stream> <F|P> <a><b>\n". */
static void log_record(int id, int partial, const char *a, size_t alen, const char *b, size_t blen) {
  if (!o_log_file) return;
  char prefix[96];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  fmt_time(&now, prefix);
  size_t pl = strlen(prefix);
  pl += (size_t)snprintf(prefix + pl, sizeof prefix - pl, " %s %c ", id == S_STDERR ? "stderr" : "stdout", partial ? 'P' : 'F');
  long long total = (long long)(pl + alen + blen + 1);
  if (o_log_max_size > 0 && log_size > 0 && log_size + total > o_log_max_size) log_rotate();
  if (log_fd < 0) return;
  struct iovec iov[4] = {{prefix, pl}, {(void *)a, alen}, {(void *)b, blen}, {"\n", 1}};
  if (writev_all(log_fd, iov, 4) == 0) log_size += total;
}

/* Splits a chunk into CRI lines, carrying an unterminated tail in s->line. */
static void log_chunk(struct stream *s, const char *p, size_t n) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t seg = nl ? (size_t)(nl - p) : n;
    if (nl && s->len + seg <= LINE_MAX_CRI) {
      log_record(s->id, 0, s->line, s->len, p, seg);
      s->len = 0;
      p += seg + 1;
      n -= seg + 1;
      continue;
    }
    size_t take = LINE_MAX_CRI - s->len;
    if (take > seg) take = seg;
    memcpy(s->line + s->len, p, take);
    s->len += take;
    p += take;
    n -= take;
    if (s->len == LINE_MAX_CRI) {
      log_record(s->id, 1, s->line, s->len, "", 0);
      s->len = 0;
    }
  }
}

/* ---------- attach clients ---------- */

static void client_close(int i) {
  struct client *c = &clients[i];
  if (c->fd < 0) return;
  close(c->fd); /* also removes it from epoll */
  free(c->out);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

static uint32_t client_events(struct client *c) {
  uint32_t ev = 0;
  if (!clients_paused && !c->rd_closed) ev |= EPOLLIN | EPOLLRDHUP;
  if (c->out_len) ev |= EPOLLOUT;
  return ev;
}

static void client_flush(int i) {
  struct client *c = &clients[i];
  while (c->out_len) {
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      client_close(i);
      return;
    }
    c->out_off += (size_t)w;
    c->out_len -= (size_t)w;
  }
  if (!c->out_len) c->out_off = 0;
  ep_mod(c->fd, client_events(c), K_CLIENT, i);
}

/* Queues what the socket did not take; drops the client when it is too far behind. */
static int client_queue(int i, const void *p, size_t n) {
  struct client *c = &clients[i];
  if (c->out_off + c->out_len + n > c->out_cap) {
    if (c->out_off) { memmove(c->out, c->out + c->out_off, c->out_len); c->out_off = 0; }
    if (c->out_len + n > c->out_cap) {
      size_t cap = c->out_cap ? c->out_cap : 65536;
      while (cap < c->out_len + n) cap *= 2;
      if (cap > CLIENT_OUT_MAX) { client_close(i); return -1; }
      char *nb = realloc(c->out, cap);
      if (!nb) { client_close(i); return -1; }
      c->out = nb;
      c->out_cap = cap;
    }
  }
  memcpy(c->out + c->out_off + c->out_len, p, n);
  c->out_len += n;
  return 0;
}

static void client_send(int i, int id, const char *p, size_t n) {
  struct client *c = &clients[i];
  unsigned char h[8] = {(unsigned char)id, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  size_t done = 0, total = n + 8;
  if (!c->out_len) {
    struct iovec iov[2] = {{h, 8}, {(void *)p, n}};
    ssize_t w;
    do w = writev(c->fd, iov, 2); while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN) { client_close(i); return; }
    done = w < 0 ? 0 : (size_t)w;
    if (done == total) return;
  }
  if (done < 8) {
    if (client_queue(i, h + done, 8 - done) < 0) return;
    done = 8;
  }
  if (client_queue(i, p + (done - 8), total - done) < 0) return;
  ep_mod(c->fd, client_events(c), K_CLIENT, i);
}

static void broadcast(int id, const char *p, size_t n) {
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) client_send(i, id, p, n);
}

static void set_clients_paused(int paused) {
  if (clients_paused == paused) return;
  clients_paused = paused;
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) ep_mod(clients[i].fd, client_events(&clients[i]), K_CLIENT, i);
}

/* ---------- container stdin ---------- */

static int master_fd(void) { return streams[2].fd; }

static void stdin_update_events(void) {
  int want_out = stdin_fd >= 0 && stdin_len > 0;
  if (want_out == stdin_out_registered) return;
  if (o_tty && stdin_fd == master_fd()) {
    ep_mod(stdin_fd, EPOLLIN | (want_out ? EPOLLOUT : 0), K_STREAM, 2);
  } else if (want_out) {
    ep_add(stdin_fd, EPOLLOUT, K_STDIN, 0);
  } else {
    epoll_ctl(epfd, EPOLL_CTL_DEL, stdin_fd, NULL);
  }
  stdin_out_registered = want_out;
}

static void stdin_close(void) {
  if (stdin_fd < 0) return;
  if (stdin_out_registered && !(o_tty && stdin_fd == master_fd())) epoll_ctl(epfd, EPOLL_CTL_DEL, stdin_fd, NULL);
  stdin_out_registered = 0;
  if (!(o_tty && stdin_fd == master_fd())) close(stdin_fd);
  stdin_fd = -1;
  stdin_len = 0;
  stdin_close_pending = 0;
  set_clients_paused(0);
}

static void stdin_flush(void) {
  size_t off = 0;
  while (stdin_fd >= 0 && off < stdin_len) {
    ssize_t w = write(stdin_fd, stdin_buf + off, stdin_len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      stdin_close(); /* EPIPE: the container closed its stdin */
      return;
    }
    off += (size_t)w;
  }
  if (stdin_fd < 0) return;
  memmove(stdin_buf, stdin_buf + off, stdin_len - off);
  stdin_len -= off;
  if (stdin_len == 0 && stdin_close_pending) { stdin_close(); return; }
  stdin_update_events();
  set_clients_paused(stdin_len == sizeof stdin_buf);
}

static void apply_resize(void) {
  if (master_fd() >= 0 && have_pending_ws) {
    ioctl(master_fd(), TIOCSWINSZ, &pending_ws);
    have_pending_ws = 0;
  }
}

/* Reads what the current frame needs from a client: header, stdin payload, or control payload. */
static void client_read(int i) {
  struct client *c = &clients[i];
  for (int rounds = 0; rounds < 16 && c->fd >= 0 && !clients_paused; rounds++) {
    ssize_t r;
    if (c->type < 0) {
      r = read(c->fd, c->hdr + c->hdr_len, 8 - (size_t)c->hdr_len);
    } else if (c->type == 0 && stdin_fd >= 0) {
      size_t room = sizeof stdin_buf - stdin_len;
      if (room > c->left) room = c->left;
      r = read(c->fd, stdin_buf + stdin_len, room);
    } else if (c->type == 4 && c->ctl_len < 4) {
      size_t want = 4 - (size_t)c->ctl_len;
      if (want > c->left) want = c->left;
      r = read(c->fd, c->ctl + c->ctl_len, want);
    } else {
      size_t want = c->left < sizeof rbuf ? c->left : sizeof rbuf;
      r = read(c->fd, rbuf, want); /* discarded */
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    if (r < 0) { client_close(i); return; }
    if (r == 0) {
      /* Half-close (e.g. docker attach after stdin EOF): stop reading, keep the output going. */
      c->rd_closed = 1;
      ep_mod(c->fd, client_events(c), K_CLIENT, i);
      return;
    }
    if (c->type < 0) {
      c->hdr_len += (int)r;
      if (c->hdr_len < 8) continue;
      c->type = c->hdr[0];
      c->left = ((uint32_t)c->hdr[4] << 24) | ((uint32_t)c->hdr[5] << 16) | ((uint32_t)c->hdr[6] << 8) | c->hdr[7];
      c->hdr_len = 0;
      c->ctl_len = 0;
    } else {
      c->left -= (uint32_t)r;
      if (c->type == 0 && stdin_fd >= 0) { stdin_len += (size_t)r; stdin_flush(); }
      else if (c->type == 4 && c->ctl_len < 4) c->ctl_len += (int)r;
    }
    if (c->type >= 0 && c->left == 0) {
      if (c->type == 3) {
        /* close stdin: after what is queued; a pty has no half-close, so it is ignored with --tty */
        if (!o_tty) { if (stdin_len) stdin_close_pending = 1; else stdin_close(); }
      } else if (c->type == 4 && c->ctl_len == 4) {
        pending_ws.ws_row = (unsigned short)((c->ctl[0] << 8) | c->ctl[1]);
        pending_ws.ws_col = (unsigned short)((c->ctl[2] << 8) | c->ctl[3]);
        have_pending_ws = 1;
        apply_resize();
      }
      c->type = -1;
    }
  }
}

static void attach_accept(void) {
  for (;;) {
    int fd = accept4(attach_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int i = 0;
    while (i < MAX_CLIENTS && clients[i].fd >= 0) i++;
    if (i == MAX_CLIENTS) { close(fd); continue; }
    memset(&clients[i], 0, sizeof clients[i]);
    clients[i].fd = fd;
    clients[i].type = -1;
    ep_add(fd, client_events(&clients[i]), K_CLIENT, i);
  }
}

/* ---------- console socket (--tty) ---------- */

static void console_accept(void) {
  int fd = accept4(console_lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  struct timeval tv = {.tv_sec = 1};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* a silent peer must not stall the loop */
  char name[256];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {name, sizeof name};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t r;
  do r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  close(fd);
  struct cmsghdr *cm = r >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) return; /* not a sender: wait for the next */
  int master;
  memcpy(&master, CMSG_DATA(cm), sizeof master);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  streams[2].fd = master;
  ep_add(master, EPOLLIN, K_STREAM, 2);
  if (o_stdin) stdin_fd = master;
  apply_resize();
  /* One console per monitor: stop listening. */
  close(console_lfd);
  console_lfd = -1;
  unlink("console.sock");
}

/* ---------- output streams ---------- */

static int open_streams(void) {
  int n = 0;
  for (int i = 0; i < 3; i++) if (streams[i].fd >= 0) n++;
  return n;
}

static void stream_eof(int i) {
  struct stream *s = &streams[i];
  if (s->len) { log_record(s->id, 1, s->line, s->len, "", 0); s->len = 0; }
  if (s->is_master && stdin_fd == s->fd) {
    stdin_fd = -1;
    stdin_len = 0;
    stdin_out_registered = 0;
    set_clients_paused(0);
  }
  close(s->fd);
  s->fd = -1;
}

/* Returns the number of bytes read (0 at EOF or nothing available). */
static ssize_t stream_read(int i) {
  struct stream *s = &streams[i];
  ssize_t r;
  /* A client whose connect() completed before this output was produced (the engine connects,
   * then starts the container) gets it, whatever order epoll reports the two fds in. */
  if (attach_lfd >= 0) attach_accept();
  do r = read(s->fd, rbuf, sizeof rbuf); while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN) return 0;
  if (r <= 0) { stream_eof(i); return 0; } /* EIO on a pty master = every slave closed */
  log_chunk(s, rbuf, (size_t)r);
  broadcast(s->id, rbuf, (size_t)r);
  return r;
}

/* ---------- processes ---------- */

static long long read_oom_count(void) {
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

static void reap(void) {
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

static void write_exit_file(void) {
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
  /* Hand queued output to attached clients (bounded), then EOF. */
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int pending = 0;
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0 || !clients[i].out_len) continue;
      client_flush(i);
      if (clients[i].fd >= 0 && clients[i].out_len) pending = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!pending || now.tv_sec - start.tv_sec >= 2) break;
    struct pollfd pf[MAX_CLIENTS];
    nfds_t np = 0;
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd >= 0 && clients[i].out_len) pf[np++] = (struct pollfd){.fd = clients[i].fd, .events = POLLOUT};
    }
    poll(pf, np, 50);
  }
  /* End of output: half-close, then read (and discard) until each client closes its side. A
   * client may still be writing (stdin typed at the end, a resize): had we shut down both ways,
   * its write would fail with EPIPE, and a client that treats that as fatal (Node destroys the
   * socket) would discard the output still unread in its receive buffer. Bounded like above. */
  struct pollfd pf[MAX_CLIENTS];
  int idx[MAX_CLIENTS];
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) shutdown(clients[i].fd, SHUT_WR);
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    nfds_t np = 0;
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0) continue;
      idx[np] = i;
      pf[np++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left_ms = 2000 - (now.tv_sec - start.tv_sec) * 1000 - (now.tv_nsec - start.tv_nsec) / 1000000;
    if (!np || left_ms <= 0) break;
    if (poll(pf, np, (int)left_ms) < 0 && errno != EINTR) break;
    for (nfds_t k = 0; k < np; k++) {
      if (!pf[k].revents) continue;
      ssize_t r;
      do r = read(pf[k].fd, rbuf, sizeof rbuf); while (r < 0 && errno == EINTR);
      if (r == 0 || (r < 0 && errno != EAGAIN)) client_close(idx[k]);
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++) client_close(i);
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
