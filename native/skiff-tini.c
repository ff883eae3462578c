/*
 * skiff-tini: a minimal init for containers (HostConfig.Init, `docker run --init`), bind-mounted
 * by the engine at /sbin/docker-init and run as PID 1:
 *
 *   skiff-tini [-g] [--] CMD [ARGS...]
 *
 * No policy: it runs CMD as its only direct child in a process group of its own (the foreground
 * group of the terminal when stdin is one), forwards every signal it can catch to that child
 * (to the child's whole process group with -g), reaps every process that ends up as its child
 * (orphans re-parented to PID 1, or to it as a child subreaper when it is not PID 1), and exits
 * once CMD has exited, with CMD's exit status, or 128+N when CMD died of signal N.
 * Exec failures exit 127 (not found) or 126 (other), as a shell does.
 *
 * Static and small (-Os -static): it runs inside images that have no libc.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Signals the kernel raises for a fault of the process itself: never blocked, never forwarded. */
static const int sync_signals[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

static void die(const char *what) {
  fprintf(stderr, "skiff-tini: %s: %s\n", what, strerror(errno));
  _exit(1);
}

static void usage(void) {
  fputs("usage: skiff-tini [-g] [--] CMD [ARGS...]\n", stderr);
  _exit(2);
}

/* The set of signals the init waits for: everything except the synchronous ones. */
static void wait_set(sigset_t *set) {
  sigfillset(set);
  for (size_t i = 0; i < sizeof sync_signals / sizeof sync_signals[0]; i++) sigdelset(set, sync_signals[i]);
}

static void run_child(char **argv, const sigset_t *orig_mask) {
  /* Own process group; the parent does the same (whichever runs first), so signals sent to the
   * group by the parent cannot race the child's setpgid. */
  if (setpgid(0, 0) < 0) die("setpgid");
  if (isatty(STDIN_FILENO)) {
    /* Become the terminal's foreground group so job control and ^C reach CMD. tcsetpgrp from a
     * background group raises SIGTTOU, which is blocked here (still in the parent's mask). */
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO) die("tcsetpgrp");
  }
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigemptyset(&dfl.sa_mask);
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL); /* errors for SIGKILL/SIGSTOP/RT: fine */
  sigprocmask(SIG_SETMASK, orig_mask, NULL);
  execvp(argv[0], argv);
  int e = errno;
  fprintf(stderr, "skiff-tini: exec %s failed: %s\n", argv[0], strerror(e));
  _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

int main(int argc, char **argv) {
  int group = 0;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (strcmp(argv[i], "-g") == 0) group = 1;
    else if (strcmp(argv[i], "-s") == 0) { /* subreaper: always on */ }
    else usage();
  }
  if (i >= argc) usage();
  char **cmd = argv + i;

  /* When not PID 1, still reap the grandchildren. */
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) die("prctl(PR_SET_CHILD_SUBREAPER)");

  sigset_t set, orig;
  wait_set(&set);
  if (sigprocmask(SIG_SETMASK, &set, &orig) < 0) die("sigprocmask");

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) run_child(cmd, &orig);
  setpgid(child, child); /* EACCES once the child has exec'd: it did it itself then */

  int status = 0;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig < 0) {
      if (errno == EINTR) continue;
      die("sigwaitinfo");
    }
    if (sig == SIGCHLD) {
      int done = 0;
      for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p <= 0) break; /* 0: others still run; -1/ECHILD: no children left */
        if (p == child) { status = st; done = 1; }
      }
      if (done) break;
      continue;
    }
    /* Everything else is for CMD (the init's own stop signals included: blocked, they cannot stop it). */
    if (kill(group ? -child : child, sig) < 0 && errno != ESRCH) {
      fprintf(stderr, "skiff-tini: forwarding signal %d: %s\n", sig, strerror(errno));
    }
  }
  /* Reap whatever exited meanwhile; processes still running are left to the kernel (PID 1 exiting
   * kills the namespace) or to our own parent. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}
