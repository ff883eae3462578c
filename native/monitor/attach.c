/* skiff-monitor: attach.sock clients. Docker stdcopy framing both ways (output frames out; stdin,
 * close-stdin and resize frames in), per-client output queues with a drop when one falls too far
 * behind, reads paused while the container's stdin is full, and the drain at the end. */
#include "monitor.h"

static int clients_paused;

/* ---------- attach clients ---------- */

void client_close(int i) {
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

void client_flush(int i) {
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

void broadcast(int id, const char *p, size_t n) {
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) client_send(i, id, p, n);
}

void set_clients_paused(int paused) {
  if (clients_paused == paused) return;
  clients_paused = paused;
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) ep_mod(clients[i].fd, client_events(&clients[i]), K_CLIENT, i);
}

/* Reads what the current frame needs from a client: header, stdin payload, or control payload. */
void client_read(int i) {
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

void attach_accept(void) {
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

/* At the end of the run: the queued output to each client (bounded), then EOF. */
void clients_drain(void) {
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
}
