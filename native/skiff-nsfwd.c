/*
 * skiff-nsfwd: one port-forward connection into a network namespace (CRI PortForward).
 *
 *   skiff-nsfwd NETNS_PATH PORT
 *
 * Enters the network namespace (e.g. /proc/PID/ns/net of a pod's pause process), connects to
 * localhost:PORT there (127.0.0.1, then ::1) and relays bytes between its stdin/stdout and the
 * connection until both directions have ended; stdin's end half-closes the connection. A failed
 * connect exits 1 with the reason on stderr. Node cannot enter a namespace from one of its
 * threads, hence this helper (containerd does the same from a locked OS thread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int try_connect(int family, int port) {
  int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  int r;
  if (family == AF_INET) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a.sin6_addr = in6addr_loopback;
    r = connect(s, (struct sockaddr *)&a, sizeof a);
  }
  if (r != 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

static int write_all(int fd, const char *b, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: skiff-nsfwd NETNS_PATH PORT\n");
    return 2;
  }
  int port = atoi(argv[2]);
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "skiff-nsfwd: invalid port %s\n", argv[2]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(argv[1], "-") != 0) {
    int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
      fprintf(stderr, "skiff-nsfwd: cannot enter network namespace %s: %s\n", argv[1], strerror(errno));
      return 1;
    }
    close(ns);
  }
  int s = try_connect(AF_INET, port);
  if (s < 0) {
    int e = errno;
    s = try_connect(AF_INET6, port);
    if (s < 0) {
      fprintf(stderr, "failed to connect to localhost:%d inside namespace: %s\n", port, strerror(e));
      return 1;
    }
  }
  char buf[65536];
  int in_open = 1, out_open = 1;
  while (out_open) {
    struct pollfd p[2] = {{.fd = in_open ? 0 : -1, .events = POLLIN}, {.fd = s, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n > 0) {
        if (write_all(s, buf, n) != 0) return 1;
      } else if (n == 0 || errno != EINTR) {
        in_open = 0;
        shutdown(s, SHUT_WR);
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n > 0) {
        if (write_all(1, buf, n) != 0) return 1;
      } else if (n == 0 || errno != EINTR) {
        out_open = 0;
      }
    }
  }
  return 0;
}
