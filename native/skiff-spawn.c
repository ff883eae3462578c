/* skiff-spawn: starts processes for a Node process (the runtime library), so that Node does not
 * fork itself for each one. Node's child_process.spawn forks the whole Node process: measured 5 ms
 * for a 44 MB process and 84 ms for a 244 MB one on a loaded 2-core machine, with the event loop
 * blocked meanwhile; a fork of this small program costs a fraction of a millisecond. Policy-free:
 * it runs what it is asked to run, with the descriptors it is told.
 *
 *   skiff-spawn CONTROL_FD PARENT_PID
 *
 * Requests on CONTROL_FD (a stream socket from Node):
 *   S ID NFD NARG SPECLEN\n
 *   NFD lines "CHILDFD KIND VALUE\n": KIND n = the parent's descriptor VALUE (pidfd_getfd),
 *     i = this process's descriptor VALUE, z = /dev/null, r = a pipe whose lines are relayed,
 *     w = a pipe the SPECLEN payload bytes are written into
 *   NARG lines, the argv (no newlines)
 *   SPECLEN bytes
 * Replies: "P ID PID\n" (started), "L ID CHILDFD TEXT\n" (a relayed line), "X ID STATUS\n" (the
 * raw wait status, after every relayed line), "F ID ERRNO TEXT\n" (could not start).
 * EOF on CONTROL_FD ends skiff-spawn; running children are left to run. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS 16
#define MAX_RELAY 4
#define MAX_ARGS 64

struct child {
  long id;
  pid_t pid;
  int relay[MAX_RELAY]; /* read ends of 'r' pipes, -1 when closed */
  int relay_child_fd[MAX_RELAY];
  int nrelay;
  char buf[MAX_RELAY][2048];
  size_t len[MAX_RELAY];
  int reaped, status;
};

/* Running children (a foreground skiff-init lives as long as its container): a growing table of
 * pointers, each entry allocated while its child runs. */
static struct child **kids;
static int nkids;
static int ctl, parent_pidfd = -1;

static void put(const char *s, size_t n) {
  while (n) {
    ssize_t w = write(ctl, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) _exit(0); /* Node is gone */
    s += w;
    n -= (size_t)w;
  }
}

static void replyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void replyf(const char *fmt, ...) {
  char b[4300];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof b - 1) n = sizeof b - 1;
  put(b, (size_t)n);
}

/* Buffered reader over the control socket. */
static char in[65536];
static size_t in_len;

static int fill(void) {
  if (in_len == sizeof in) return -1;
  ssize_t r = read(ctl, in + in_len, sizeof in - in_len);
  if (r < 0 && errno == EINTR) return 0;
  if (r <= 0) return -1;
  in_len += (size_t)r;
  return 0;
}

static int take_line(char *out, size_t cap) {
  for (;;) {
    char *nl = memchr(in, '\n', in_len);
    if (nl) {
      size_t n = (size_t)(nl - in);
      if (n >= cap) return -1;
      memcpy(out, in, n);
      out[n] = 0;
      memmove(in, nl + 1, in_len - n - 1);
      in_len -= n + 1;
      return 0;
    }
    if (fill() < 0) return -1;
  }
}

static int take_bytes(char *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (!in_len && fill() < 0) return -1;
    size_t k = in_len < n - got ? in_len : n - got;
    memcpy(out + got, in, k);
    memmove(in, in + k, in_len - k);
    in_len -= k;
    got += k;
  }
  return 0;
}

/* A free entry, or NULL when out of memory. */
static struct child *slot(void) {
  int i = 0;
  while (i < nkids && kids[i]) i++;
  if (i == nkids) {
    int n = nkids ? nkids * 2 : 16;
    struct child **k = realloc(kids, (size_t)n * sizeof *k);
    if (!k) return NULL;
    for (int j = nkids; j < n; j++) k[j] = NULL;
    kids = k;
    nkids = n;
  }
  kids[i] = calloc(1, sizeof **kids);
  return kids[i];
}

static void maybe_done(int i) {
  struct child *c = kids[i];
  if (!c->reaped) return;
  for (int k = 0; k < c->nrelay; k++) if (c->relay[k] >= 0) return;
  replyf("X %ld %d\n", c->id, c->status);
  free(c);
  kids[i] = NULL;
}

/* Reads one request and starts its process. Returns -1 when the control socket is closed. */
static int request(void) {
  char line[4200];
  if (take_line(line, sizeof line) < 0) return -1;
  long id;
  int nfd, narg;
  size_t speclen;
  if (sscanf(line, "S %ld %d %d %zu", &id, &nfd, &narg, &speclen) != 4 || nfd < 0 || nfd > MAX_FDS || narg < 1 ||
      narg > MAX_ARGS)
    return -1; /* a broken peer: stop */
  int cfd[MAX_FDS], src[MAX_FDS];
  char kind[MAX_FDS];
  for (int i = 0; i < nfd; i++) {
    if (take_line(line, sizeof line) < 0 || sscanf(line, "%d %c %d", &cfd[i], &kind[i], &src[i]) != 3) return -1;
  }
  char *argv[MAX_ARGS + 1];
  for (int i = 0; i < narg; i++) {
    if (take_line(line, sizeof line) < 0) return -1;
    argv[i] = strdup(line);
  }
  argv[narg] = NULL;
  char *spec = malloc(speclen + 1);
  if (!spec || take_bytes(spec, speclen) < 0) return -1;

  struct child *c = slot();
  int err = 0;
  const char *what = "";
  int have[MAX_FDS], keep[MAX_FDS], specw = -1, nrelays = 0;
  for (int i = 0; i < nfd; i++) have[i] = keep[i] = -1;
  if (!c) { err = ENOMEM; what = "child table"; }
  for (int i = 0; !err && i < nfd; i++) {
    int p[2];
    switch (kind[i]) {
    case 'n':
      have[i] = (int)syscall(SYS_pidfd_getfd, parent_pidfd, src[i], 0);
      if (have[i] < 0) { err = errno; what = "pidfd_getfd"; }
      break;
    case 'i': have[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3); if (have[i] < 0) { err = errno; what = "dup"; } break;
    case 'z': have[i] = open("/dev/null", O_RDWR | O_CLOEXEC); if (have[i] < 0) { err = errno; what = "/dev/null"; } break;
    case 'r':
    case 'w':
      if (pipe2(p, O_CLOEXEC) < 0) { err = errno; what = "pipe"; break; }
      have[i] = kind[i] == 'r' ? p[1] : p[0];
      keep[i] = kind[i] == 'r' ? p[0] : p[1];
      break;
    default: err = EINVAL; what = "descriptor kind";
    }
    if (kind[i] == 'r' && ++nrelays > MAX_RELAY) { err = EINVAL; what = "too many relayed descriptors"; }
  }
  pid_t pid = -1;
  if (!err) {
    pid = fork();
    if (pid < 0) { err = errno; what = "fork"; }
  }
  if (pid == 0) {
    /* Move every source above the targets first, so dup2 never overwrites one still needed. */
    for (int i = 0; i < nfd; i++) {
      int hi = fcntl(have[i], F_DUPFD_CLOEXEC, 3 + MAX_FDS);
      if (hi < 0) _exit(126);
      have[i] = hi;
    }
    for (int i = 0; i < nfd; i++) if (dup2(have[i], cfd[i]) < 0) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    dprintf(2, "skiff-spawn: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  for (int i = 0; i < nfd; i++) if (have[i] >= 0) close(have[i]);
  if (err) {
    for (int i = 0; i < nfd; i++) if (keep[i] >= 0) close(keep[i]);
    for (int i = 0; c && i < nkids; i++) if (kids[i] == c) { free(c); kids[i] = NULL; }
    replyf("F %ld %d %s: %s\n", id, err, what, strerror(err));
  } else {
    c->id = id;
    c->pid = pid;
    for (int i = 0; i < nfd; i++) {
      if (kind[i] == 'w') specw = keep[i];
      else if (kind[i] == 'r') {
        fcntl(keep[i], F_SETFL, O_NONBLOCK);
        c->relay[c->nrelay] = keep[i];
        c->relay_child_fd[c->nrelay++] = cfd[i];
      }
    }
    replyf("P %ld %d\n", id, pid);
    if (specw >= 0) { /* a spec is small (tens of KB): the child reads it at once */
      size_t off = 0;
      while (off < speclen) {
        ssize_t w = write(specw, spec + off, speclen - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break; /* the child died: its exit says why */
        off += (size_t)w;
      }
      close(specw);
    }
  }
  free(spec);
  for (int i = 0; i < narg; i++) free(argv[i]);
  return 0;
}

static void relay(int i, int k) {
  struct child *c = kids[i];
  for (;;) {
    ssize_t r = read(c->relay[k], c->buf[k] + c->len[k], sizeof c->buf[k] - 1 - c->len[k]);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    if (r > 0) c->len[k] += (size_t)r;
    char *start = c->buf[k], *nl;
    while ((nl = memchr(start, '\n', c->len[k] - (size_t)(start - c->buf[k])))) {
      *nl = 0;
      replyf("L %ld %d %s\n", c->id, c->relay_child_fd[k], start);
      start = nl + 1;
    }
    size_t rest = c->len[k] - (size_t)(start - c->buf[k]);
    if (rest == sizeof c->buf[k] - 1 || (r <= 0 && rest)) { /* an overlong or unterminated last line */
      c->buf[k][c->len[k]] = 0;
      replyf("L %ld %d %s\n", c->id, c->relay_child_fd[k], start);
      rest = 0;
    } else memmove(c->buf[k], start, rest);
    c->len[k] = rest;
    if (r <= 0) {
      close(c->relay[k]);
      c->relay[k] = -1;
      maybe_done(i);
      return;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: skiff-spawn CONTROL_FD PARENT_PID (run by the Skiff runtime)\n");
    return 2;
  }
  ctl = atoi(argv[1]);
  fcntl(ctl, F_SETFD, FD_CLOEXEC);
  parent_pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[2]), 0);
  signal(SIGPIPE, SIG_IGN);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGCHLD);
  sigprocmask(SIG_BLOCK, &m, NULL);
  int sfd = signalfd(-1, &m, SFD_CLOEXEC | SFD_NONBLOCK);
  struct pollfd *pf = NULL;
  struct who { int kid, k; } *who = NULL;
  size_t cap = 0;
  for (;;) {
    size_t need = 2 + (size_t)nkids * MAX_RELAY;
    if (need > cap) {
      pf = realloc(pf, need * sizeof *pf);
      who = realloc(who, need * sizeof *who);
      if (!pf || !who) return 1;
      cap = need;
    }
    nfds_t n = 0;
    pf[n] = (struct pollfd){.fd = ctl, .events = POLLIN};
    who[n++].kid = -1;
    pf[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
    who[n++].kid = -2;
    for (int i = 0; i < nkids; i++) {
      if (!kids[i]) continue;
      for (int k = 0; k < kids[i]->nrelay; k++) {
        if (kids[i]->relay[k] < 0) continue;
        pf[n] = (struct pollfd){.fd = kids[i]->relay[k], .events = POLLIN};
        who[n].kid = i;
        who[n++].k = k;
      }
    }
    /* buffered request bytes are served before sleeping */
    int r = in_len ? 0 : poll(pf, n, -1);
    if (r < 0 && errno != EINTR) return 1;
    if (in_len || (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (request() < 0) return 0;
    }
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {}
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < nkids; i++) {
          if (!kids[i] || kids[i]->pid != p || kids[i]->reaped) continue;
          kids[i]->reaped = 1;
          kids[i]->status = st;
          maybe_done(i);
          break;
        }
      }
    }
    for (nfds_t i = 2; i < n; i++) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      struct child *c = kids[who[i].kid];
      if (c && c->relay[who[i].k] >= 0) relay(who[i].kid, who[i].k);
    }
  }
}
