/* skiff-init: the container's mount namespace — rootfs, mounts, devices, pivot_root, masked and
 * read-only paths. Flags arrive as numbers computed by the runtime from the OCI options. */
#pragma once
#include "skiff-init-spec.h"
#include <libgen.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>

/* Flags a bind remount must keep (the kernel refuses to clear locked ones in a user namespace). */
static unsigned long locked_flags(const char *path) {
  struct statvfs s;
  unsigned long f = 0;
  if (statvfs(path, &s) < 0) return 0;
  if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) f |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static int bind_remount(const char *path, unsigned long flags) {
  return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags | locked_flags(path), NULL);
}

/* Mount destinations are resolved inside the rootfs: a symlink in the image (e.g. an absolute
 * /etc/resolv.conf -> /run/...) must not lead a mount onto the host. openat2(RESOLVE_IN_ROOT)
 * resolves every component as if the rootfs were /; the mount then targets /proc/self/fd/N. */
static int g_rootfd = -1;

static int open_in_root(const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, g_rootfd, path, &how, sizeof how);
}

/* An O_PATH fd on DEST inside the rootfs, creating missing components (the last one a file when
 * the bind source is not a directory). */
static int mountpoint_fd(const char *dest, const char *src, int bind) {
  int fd = open_in_root(dest, O_PATH);
  if (fd >= 0) return fd;
  if (errno != ENOENT) die("resolve %s in the rootfs", dest);
  struct stat st;
  int file = bind && src && stat(src, &st) == 0 && !S_ISDIR(st.st_mode);
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", dest);
  size_t len = strlen(buf);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char save = buf[i];
    buf[i] = 0;
    int have = open_in_root(buf, O_PATH);
    if (have >= 0) { close(have); buf[i] = save; continue; }
    if (errno != ENOENT) die("resolve %s in the rootfs", buf);
    char *slash = strrchr(buf, '/');
    *slash = 0;
    int parent = open_in_root(*buf ? buf : "/", O_PATH | O_DIRECTORY);
    if (parent < 0) die("resolve parent of %s in the rootfs", dest);
    const char *name = slash + 1;
    int r;
    if (save == 0 && file) {
      r = openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (r >= 0) close(r);
    } else {
      r = mkdirat(parent, name, 0755);
    }
    if (r < 0 && errno != EEXIST) die("create mount point %s", dest);
    close(parent);
    *slash = '/';
    buf[i] = save;
  }
  fd = open_in_root(dest, O_PATH);
  if (fd < 0) die("resolve %s in the rootfs", dest);
  return fd;
}

/* mount SRC DEST TYPE FLAGS PROPAGATION DATA (DEST relative to the rootfs). */
static void do_mount(const char *rootfs, struct line *l) {
  if (l->n < 6) DIE("mount record needs 6 fields");
  const char *src = l->f[0], *type = l->f[2], *data = l->f[5];
  unsigned long flags = num(l->f[3], "mount flags"), prop = num(l->f[4], "mount propagation");
  int bind = (flags & MS_BIND) != 0;
  int tfd = mountpoint_fd(l->f[1], src, bind);
  char dest[64];
  snprintf(dest, sizeof dest, "/proc/self/fd/%d", tfd);
  /* Remounts must name the new mount, not the mount point under it: re-resolve after mounting. */
  char top[64];
  int rfd = -1;
#define TOP() (rfd = open_in_root(l->f[1], O_PATH), snprintf(top, sizeof top, "/proc/self/fd/%d", rfd), top)
  if (bind) {
    if (mount(src, dest, NULL, MS_BIND | (flags & MS_REC), NULL) < 0) die("bind mount %s on %s", src, l->f[1]);
    unsigned long rest = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (rest && bind_remount(TOP(), rest) < 0) die("remount %s", l->f[1]);
  } else if (mount(src, dest, type, flags, *data ? data : NULL) < 0) {
    /* sysfs and mqueue cannot be mounted in a user namespace that does not own the net/ipc
     * namespace: fall back to a recursive bind of the host's (as runc does). */
    if (errno == EPERM && (!strcmp(type, "sysfs") || !strcmp(type, "mqueue"))) {
      const char *host = !strcmp(type, "sysfs") ? "/sys" : "/dev/mqueue";
      if (mount(host, dest, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s on %s", host, l->f[1]);
      if (flags & MS_RDONLY) bind_remount(TOP(), MS_RDONLY);
    } else {
      die("mount %s (%s) on %s", src, type, l->f[1]);
    }
  }
#undef TOP
  if (rfd >= 0) close(rfd);
  /* Optional 7th field: MOUNT_ATTR_* bits set on the new mount and every mount below it (runc's
   * `rro`): a bind remount only changes the top mount, mount_setattr(AT_RECURSIVE) the tree. */
  unsigned long rattr = l->n >= 7 ? num(l->f[6], "recursive mount attributes") : 0;
  if (rattr) {
    int afd = open_in_root(l->f[1], O_PATH);
    struct mount_attr attr = {.attr_set = rattr};
    if (afd < 0 || mount_setattr(afd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      die("set recursive attributes of %s", l->f[1]);
    close(afd);
  }
  /* The fd names the mount point under the new mount: re-resolve before touching it again. */
  close(tfd);
  if (prop) {
    tfd = open_in_root(l->f[1], O_PATH);
    snprintf(dest, sizeof dest, "/proc/self/fd/%d", tfd);
    if (tfd < 0 || mount(NULL, dest, NULL, prop, NULL) < 0) die("set propagation of %s", l->f[1]);
    close(tfd);
  }
}

/* dev PATH TYPE(c|b|p) MAJOR MINOR MODE UID GID; in a user namespace mknod is refused, so the
 * host's node of the same path is bind-mounted instead. */
static void do_device(const char *rootfs, struct line *l, int userns) {
  if (l->n < 7) DIE("dev record needs 7 fields");
  char dest[4096];
  snprintf(dest, sizeof dest, "%s%s", rootfs, l->f[0]);
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", dest);
  mkdir_p(dirname(parent));
  mode_t type = l->f[1][0] == 'b' ? S_IFBLK : l->f[1][0] == 'p' ? S_IFIFO : S_IFCHR;
  mode_t mode = (mode_t)num(l->f[4], "device mode") & 07777;
  dev_t dev = makedev(num(l->f[2], "major"), num(l->f[3], "minor"));
  if (!userns) {
    unlink(dest);
    if (mknod(dest, type | mode, dev) == 0) {
      if (chown(dest, num(l->f[5], "uid"), num(l->f[6], "gid")) < 0) die("chown %s", l->f[0]);
      if (chmod(dest, mode) < 0) die("chmod %s", l->f[0]);
      return;
    }
    if (errno != EPERM) die("mknod %s", l->f[0]);
  }
  struct stat st;
  if (stat(dest, &st) < 0) {
    int fd = open(dest, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die("create %s", l->f[0]);
    close(fd);
  }
  if (mount(l->f[0], dest, NULL, MS_BIND, NULL) < 0) die("bind device %s", l->f[0]);
}

/* symlink TARGET PATH [replace]: `replace` removes what is there first (runc's /dev/ptmx, which a
 * device list holding the host's ptmx node would otherwise leave as a node). */
static void do_symlink(const char *rootfs, struct line *l) {
  char dest[4096];
  snprintf(dest, sizeof dest, "%s%s", rootfs, l->f[1]);
  if (l->n > 2 && !strcmp(l->f[2], "replace") && unlink(dest) < 0 && errno != ENOENT) die("remove %s", l->f[1]);
  if (symlink(l->f[0], dest) < 0 && errno != EEXIST) die("symlink %s", l->f[1]);
}

/* The mount holding `path` (longest mount point that is a prefix of it), from mountinfo. */
static int parent_mount(const char *path, char *out, size_t n) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -1;
  char line[8192];
  size_t best = 0;
  while (fgets(line, sizeof line, f)) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    size_t l = strlen(mp);
    int prefix = !strcmp(mp, "/") || (!strncmp(path, mp, l) && (path[l] == '/' || path[l] == 0));
    if (prefix && (l > best || (best == 0 && l == 1))) {
      best = l;
      snprintf(out, n, "%s", mp);
    }
  }
  fclose(f);
  return best ? 0 : -1;
}

/* Everything before pivot_root: propagation of /, the rootfs bind, mounts, devices, links. */
static void setup_rootfs(int userns) {
  const char *rootfs = get1("rootfs");
  if (!rootfs) DIE("spec has no rootfs");
  const char *prop = get1("rootprop");
  unsigned long p = prop ? num(prop, "rootprop") : (MS_REC | MS_SLAVE);
  if (mount(NULL, "/", NULL, p, NULL) < 0) die("make / %s", prop ? "propagation" : "rslave");
  /* With a shared root (rootfsPropagation rshared), the mount holding the rootfs is made private,
   * as runc does: pivot_root refuses a shared new root or parent, and the rootfs bind below must
   * not propagate back to the host. */
  if (p & MS_SHARED) {
    char pm[4096];
    if (parent_mount(rootfs, pm, sizeof pm) == 0 && mount(NULL, pm, NULL, MS_PRIVATE, NULL) < 0)
      die("make %s private", pm);
  }
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind rootfs %s", rootfs);
  if ((g_rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) die("open rootfs %s", rootfs);
  FOR_KEY(l, "mount") do_mount(rootfs, l);
  FOR_KEY(l, "dev") do_device(rootfs, l, userns);
  FOR_KEY(l, "symlink") do_symlink(rootfs, l);
}

/* pivot_root into the rootfs (or chroot with --no-pivot), leaving the old root detached. */
static void enter_rootfs(void) {
  const char *rootfs = get1("rootfs");
  if (chdir(rootfs) < 0) die("chdir %s", rootfs);
  if (get1("nopivot")) {
    if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0) die("move rootfs");
    if (chroot(".") < 0) die("chroot");
  } else {
    /* pivot_root(".", "."): the old root is stacked on the new one, then detached. "." must name
     * the old root when it is made rslave (as runc: fchdir to it first); made on the new root, the
     * flag turned every container mount, rshared ones included, into a slave. */
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0) die("open old root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root %s", rootfs);
    if (fchdir(oldroot) < 0) die("fchdir old root");
    close(oldroot);
    if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("make old root rslave");
    if (umount2(".", MNT_DETACH) < 0) die("detach old root");
  }
  if (chdir("/") < 0) die("chdir /");
}

/* After pivot_root: sysctls, read-only then masked paths (runc's order), read-only root. */
static void finish_rootfs(void) {
  FOR_KEY(l, "sysctl") {
    char p[512];
    snprintf(p, sizeof p, "/proc/sys/%s", l->f[0]);
    if (write_file(p, l->f[1]) < 0) die("sysctl %s", l->f[0]);
  }
  FOR_KEY(l, "ropath") {
    if (mount(l->f[0], l->f[0], NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue;
      die("bind read-only path %s", l->f[0]);
    }
    if (bind_remount(l->f[0], MS_RDONLY | MS_REC) < 0) die("remount read-only %s", l->f[0]);
  }
  FOR_KEY(l, "mask") {
    struct stat st;
    if (stat(l->f[0], &st) < 0) {
      if (errno == ENOENT) continue;
      die("stat masked path %s", l->f[0]);
    }
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", l->f[0], "tmpfs", MS_RDONLY, NULL)
                                : mount("/dev/null", l->f[0], NULL, MS_BIND, NULL);
    if (r < 0) die("mask %s", l->f[0]);
  }
  const char *rp = get1("rootprop2");
  if (rp && mount(NULL, "/", NULL, num(rp, "rootprop2"), NULL) < 0) die("set root propagation");
  if (get1("readonly") && bind_remount("/", MS_RDONLY) < 0) die("remount / read-only");
}
