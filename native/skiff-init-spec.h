/* skiff-init: the prepared-work file and error reporting.
 *
 * The TypeScript runtime (which holds all policy) writes a line-based spec into the container's
 * state directory. One record per line; fields separated by TAB; inside a field the characters
 * backslash, TAB and newline are written as "\\", "\t" and "\n". The first field is the key.
 * Records of one key keep their order (mounts, env, seccomp rules). Hand-written rather than JSON:
 * it is ~40 lines of C and needs no library. */
#pragma once
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct line {
  char *key;
  int n;     /* number of fields after the key */
  char **f;  /* the fields */
};

static struct line *L;
static int NL;

/* Error channel: in the container child, errors go over the sync socket to the parent, which
 * writes them to the error file (read by the runtime) and to stderr. */
static int g_child_sync = -1;
/* A child to kill when the parent dies of an error (set while it joins the child's cgroups). */
static pid_t g_kill_on_die;
/* Opened at start: exec mode later joins the container's mount namespace, where host paths are
 * out of reach. */
static int g_errfd = -1;
static const char *g_errpath; /* create mode opens the error file only when there is an error */

/* `trace FILE`: timestamped phase names (CLOCK_MONOTONIC ns, the clock of Node's
 * process.hrtime) appended by the parent and the container child, for the runtime's breakdown of
 * where a container's start-up goes (`npm run bench -- runtime`). */
static int g_tracefd = -1;

static void trace(const char *what) {
  if (g_tracefd < 0) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char b[96];
  int n = snprintf(b, sizeof b, "%s %lld\n", what, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  if (write(g_tracefd, b, n) < 0) { /* tracing is best effort */ }
}

static void report_error(const char *msg) {
  if (g_errfd < 0 && g_errpath) g_errfd = open(g_errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (g_errfd >= 0) {
    if (ftruncate(g_errfd, 0) < 0 || pwrite(g_errfd, msg, strlen(msg), 0) < 0) { /* nothing more to do */ }
    return; /* the runtime reports it */
  }
  dprintf(2, "skiff-init: %s\n", msg);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  char msg[2048];
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  if (e) snprintf(msg + n, sizeof msg - n, ": %s", strerror(e));
  if (g_child_sync >= 0) {
    char buf[2100];
    buf[0] = 'E';
    size_t len = strlen(msg);
    memcpy(buf + 1, msg, len);
    if (send(g_child_sync, buf, len + 1, MSG_NOSIGNAL) < 0) dprintf(2, "skiff-init: %s\n", msg); /* parent gone */
    _exit(1);
  }
  if (g_kill_on_die > 0) kill(g_kill_on_die, 9);
  report_error(msg);
  exit(1);
}
#define DIE(...) do { errno = 0; die(__VA_ARGS__); } while (0)

static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '\\' && s[1]) {
      s++;
      *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
    } else {
      *o++ = *s;
    }
  }
  *o = 0;
}

/* PATH, or `fd:N`: read from descriptor N to its end (the runtime writes the spec into a pipe). */
static void parse_spec(const char *path) {
  int fd;
  if (!strncmp(path, "fd:", 3)) fd = (int)strtol(path + 3, NULL, 10);
  else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) die("open spec %s", path);
  size_t size = 16384, got = 0;
  char *buf = malloc(size);
  if (!buf) DIE("out of memory");
  for (;;) {
    if (got + 1 >= size && !(buf = realloc(buf, size *= 2))) DIE("out of memory");
    ssize_t r = read(fd, buf + got, size - got - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read spec");
    if (r == 0) break;
    got += (size_t)r;
  }
  buf[got] = 0;
  close(fd);
  int cap = 64;
  L = calloc(cap, sizeof *L);
  for (char *save = NULL, *ln = strtok_r(buf, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    if (NL == cap) { cap *= 2; L = realloc(L, cap * sizeof *L); }
    int nf = 1;
    for (char *p = ln; *p; p++) if (*p == '\t') nf++;
    char **f = calloc(nf + 1, sizeof *f);
    int i = 0;
    for (char *p = ln;;) {
      char *t = strchr(p, '\t');
      if (t) *t = 0;
      unescape(p);
      f[i++] = p;
      if (!t) break;
      p = t + 1;
    }
    L[NL].key = f[0];
    L[NL].f = f + 1;
    L[NL].n = nf - 1;
    NL++;
  }
}

#define FOR_KEY(l, k) for (struct line *l = L; l < L + NL; l++) if (!strcmp(l->key, (k)))

/* First field of the first record with this key, or NULL. */
static const char *get1(const char *key) {
  FOR_KEY(l, key) return l->n > 0 ? l->f[0] : "";
  return NULL;
}

static struct line *getl(const char *key) {
  FOR_KEY(l, key) return l;
  return NULL;
}

static unsigned long long num(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || end == s) DIE("bad number %s for %s", s, what);
  return v;
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(data);
  ssize_t r = write(fd, data, len);
  int e = errno;
  close(fd);
  errno = e;
  return r == (ssize_t)len ? 0 : -1;
}

/* mkdir -p; mode 0755. */
static int mkdir_p(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
  return 0;
}
