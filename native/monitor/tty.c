/* skiff-monitor: the container's stdin (a pipe, or the pty master with --tty) fed from attach
 * clients, and the pty itself: received over console.sock, resized on request. */
#include "monitor.h"

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

void stdin_close(void) {
  if (stdin_fd < 0) return;
  if (stdin_out_registered && !(o_tty && stdin_fd == master_fd())) epoll_ctl(epfd, EPOLL_CTL_DEL, stdin_fd, NULL);
  stdin_out_registered = 0;
  if (!(o_tty && stdin_fd == master_fd())) close(stdin_fd);
  stdin_fd = -1;
  stdin_len = 0;
  stdin_close_pending = 0;
  set_clients_paused(0);
}

void stdin_flush(void) {
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

void apply_resize(void) {
  if (master_fd() >= 0 && have_pending_ws) {
    ioctl(master_fd(), TIOCSWINSZ, &pending_ws);
    have_pending_ws = 0;
  }
}

/* ---------- console socket (--tty) ---------- */

void console_accept(void) {
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
