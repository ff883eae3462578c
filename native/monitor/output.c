/* skiff-monitor: CMD's output streams, relayed to the attach clients and written to the CRI log
 * file (one record per line, long lines split into partial records, size-based rotation). */
#include "monitor.h"

static long long log_size;

/* ---------- log file ---------- */

void log_open(void) {
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

/* ---------- output streams ---------- */

int open_streams(void) {
  int n = 0;
  for (int i = 0; i < 3; i++) if (streams[i].fd >= 0) n++;
  return n;
}

void stream_eof(int i) {
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
ssize_t stream_read(int i) {
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
