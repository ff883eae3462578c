/*
 * skiff-monitor's shared declarations: the limits, the epoll tags, the stream and attach-client
 * records, the options and state the translation units share, and each unit's entry points.
 *
 *   skiff-monitor.c   options, daemon setup (sockets, CMD), the event loop, the end of the run
 *   monitor/util.c    errors, timestamps, full writes, epoll registration
 *   monitor/output.c  CMD's output streams and the CRI log file (records, rotation)
 *   monitor/attach.c  attach.sock clients: framing both ways, back-pressure, the final drain
 *   monitor/tty.c     the container's stdin and the pty (console socket, resize)
 *   monitor/exit.c    reaping, adopting the container pid, OOM count, exit.json
 */
#ifndef SKIFF_MONITOR_H
#define SKIFF_MONITOR_H
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

/* --- options (skiff-monitor.c) --- */
extern const char *o_state_dir, *o_pid_file, *o_log_file, *o_oom_file;
extern long long o_log_max_size;
extern int o_log_max_files, o_tty, o_stdin;
extern char **o_cmd;

/* --- state (skiff-monitor.c) --- */
extern int epfd, sigfd, attach_lfd, console_lfd;
extern struct stream streams[3]; /* [0] CMD stdout pipe, [1] CMD stderr pipe, [2] pty master */
extern int stdin_fd, stdin_close_pending, stdin_out_registered;
extern char stdin_buf[STDIN_BUF];
extern size_t stdin_len;
extern struct client clients[MAX_CLIENTS];
extern int log_fd;
extern pid_t cmd_pid, ctr_pid;
extern int cmd_done, ctr_done, failed;
extern char err_msg[512];
extern long long oom_before;
extern struct winsize pending_ws;
extern int have_pending_ws;
extern char rbuf[READ_BUF];

/* util.c */
void set_error(const char *fmt, const char *a, int err);
void fmt_time(const struct timespec *ts, char *out /* >= 64 */);
int write_all(int fd, const void *p, size_t n);
int writev_all(int fd, struct iovec *iov, int cnt);
void ep_add(int fd, uint32_t events, int kind, int idx);
void ep_mod(int fd, uint32_t events, int kind, int idx);

/* output.c */
void log_open(void);
int open_streams(void);
void stream_eof(int i);
ssize_t stream_read(int i);

/* attach.c */
void client_close(int i);
void client_flush(int i);
void broadcast(int id, const char *p, size_t n);
void set_clients_paused(int paused);
void client_read(int i);
void attach_accept(void);
void clients_drain(void);

/* tty.c */
void stdin_close(void);
void stdin_flush(void);
void apply_resize(void);
void console_accept(void);

/* exit.c */
long long read_oom_count(void);
void reap(void);
void write_exit_file(void);

#endif
