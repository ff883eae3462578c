/*
 * skiff-idmap: an id-mapped copy of a mount (a pod's user namespace over a container's rootfs or
 * volume).
 *
 *   skiff-idmap [--recursive] USERNS_PATH SRC DST
 *
 * Clones the mount tree at SRC (open_tree OPEN_TREE_CLONE; with --recursive its submounts too),
 * gives the copy the id mapping of the user namespace at USERNS_PATH (mount_setattr
 * MOUNT_ATTR_IDMAP: a file of host uid 0 shows as the namespace's uid 0 through it, and what the
 * namespace's root writes lands as host uid 0) and attaches it at DST (move_mount). SRC is left as
 * it was. Exits 0, or 1 with the failing step on stderr. Node has none of these system calls;
 * what to map and where is the caller's decision. Linux ≥ 5.12 and a file system that allows
 * id-mapped mounts (ext4, xfs, btrfs, tmpfs, overlayfs on recent kernels).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "skiff-idmap: %s %s: %s\n", what, arg, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  int i = 1, recursive = 0;
  if (i < argc && !strcmp(argv[i], "--recursive")) {
    recursive = 1;
    i++;
  }
  if (argc - i != 3) {
    fprintf(stderr, "usage: skiff-idmap [--recursive] USERNS_PATH SRC DST\n");
    return 2;
  }
  const char *userns = argv[i], *src = argv[i + 1], *dst = argv[i + 2];
  int ns = open(userns, O_RDONLY | O_CLOEXEC);
  if (ns < 0) return fail("open user namespace", userns);
  int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0) return fail("clone mount", src);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)ns};
  if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
    return fail("id-map mount of", src);
  if (move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) return fail("attach id-mapped mount at", dst);
  return 0;
}
