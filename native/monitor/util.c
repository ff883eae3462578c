/* skiff-monitor: errors, timestamps, full writes, epoll registration (see monitor.h). */
#include "monitor.h"

void set_error(const char *fmt, const char *a, int err) {
  if (failed) return;
  failed = 1;
  snprintf(err_msg, sizeof err_msg, fmt, a ? a : "", err ? strerror(err) : "");
}

void fmt_time(const struct timespec *ts, char *out /* >= 64 */) {
  struct tm tm;
  gmtime_r(&ts->tv_sec, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec);
}

int write_all(int fd, const void *p, size_t n) {
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

int writev_all(int fd, struct iovec *iov, int cnt) {
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

void ep_add(int fd, uint32_t events, int kind, int idx) {
  struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)kind << 32) | (uint32_t)idx};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}
void ep_mod(int fd, uint32_t events, int kind, int idx) {
  struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)kind << 32) | (uint32_t)idx};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}
