/**
 * The one place where mmap-lab talks to C: the libc symbol table for
 * `Deno.dlopen`, with the C prototype beside each entry.
 *
 * Nothing outside `lib/ffi/` and `lib/sys.ts` should call these symbols
 * directly: `lib/sys.ts` wraps each one in a typed function that records the
 * call and turns a failure into an {@link MmapError}. The library is opened on
 * first use, after a platform check, so importing this module is free and
 * safe on every OS.
 *
 * @module
 */

import { assertSupported } from "./constants.ts";

/** The libc symbols mmap-lab uses, as `Deno.dlopen` declarations (frozen, as is every entry). */
export const LIBC_SYMBOLS = {
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); */
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  /** int munmap(void *addr, size_t length); */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** int msync(void *addr, size_t length, int flags); */
  msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int mprotect(void *addr, size_t len, int prot); */
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int madvise(void *addr, size_t length, int advice); */
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int mincore(void *addr, size_t length, unsigned char *vec); */
  mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
  /** int open(const char *pathname, int flags, mode_t mode); */
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** int ftruncate(int fd, off_t length); */
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  /** off_t lseek(int fd, off_t offset, int whence); */
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset); */
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  /** ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset); */
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  /** int fsync(int fd); */
  fsync: { parameters: ["i32"], result: "i32" },
  /** int posix_fadvise(int fd, off_t offset, off_t len, int advice); */
  posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
  /** int mkfifo(const char *pathname, mode_t mode); */
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  /** int memfd_create(const char *name, unsigned int flags); */
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** int getpagesize(void); */
  getpagesize: { parameters: [], result: "i32" },
  /** int getrusage(int who, struct rusage *usage); */
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  /** int statx(int dirfd, const char *pathname, int flags, unsigned int mask, struct statx *buf); */
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  /** int statfs(const char *path, struct statfs *buf); */
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  /** pid_t getpid(void); */
  getpid: { parameters: [], result: "i32" },
  /** pid_t setsid(void); a checker's child leads its own session */
  setsid: { parameters: [], result: "i32" },
  /** long syscall(long number, ...); used for SYS_futex(uaddr, op, val, timeout, uaddr2, val3) */
  syscall: {
    parameters: ["i64", "pointer", "i32", "i32", "pointer", "pointer", "i32"],
    result: "i64",
  },
  /** int prctl(int option, unsigned long arg2, …); used for PR_SET_CHILD_SUBREAPER */
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  /** pid_t waitpid(pid_t pid, int *wstatus, int options); */
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** DIR *opendir(const char *name); */
  opendir: { parameters: ["buffer"], result: "pointer" },
  /** struct dirent *readdir(DIR *dirp); */
  readdir: { parameters: ["pointer"], result: "pointer" },
  /** int closedir(DIR *dirp); */
  closedir: { parameters: ["pointer"], result: "i32" },
  /** sighandler_t signal(int signum, sighandler_t handler); used with SIG_IGN */
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },

  // Running a grader's children as a user of their own (lib/checker/identity.ts and
  // lib/grader/isolation.ts): identities, and files handed to that user.
  /** uid_t getuid(void); */
  getuid: { parameters: [], result: "u32" },
  /** gid_t getgid(void); */
  getgid: { parameters: [], result: "u32" },
  /** pid_t getppid(void); */
  getppid: { parameters: [], result: "i32" },
  /** int setgroups(size_t size, const gid_t *list); glibc applies it to every thread */
  setgroups: { parameters: ["usize", "pointer"], result: "i32" },
  /** int setresgid(gid_t rgid, gid_t egid, gid_t sgid); every thread (glibc) */
  setresgid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  /** int setresuid(uid_t ruid, uid_t euid, uid_t suid); every thread (glibc) */
  setresuid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  /** struct passwd *getpwuid(uid_t uid); NULL when no account has that uid */
  getpwuid: { parameters: ["u32"], result: "pointer" },
  /** struct group *getgrgid(gid_t gid); NULL when no group has that gid */
  getgrgid: { parameters: ["u32"], result: "pointer" },
  /** int openat(int dirfd, const char *pathname, int flags, mode_t mode); */
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  /** int fchown(int fd, uid_t owner, gid_t group); */
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  /** int fchmod(int fd, mode_t mode); */
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  /** int inotify_init1(int flags); */
  inotify_init1: { parameters: ["i32"], result: "i32" },
  /** int inotify_add_watch(int fd, const char *pathname, uint32_t mask); */
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** ssize_t read(int fd, void *buf, size_t count); (an inotify descriptor's events) */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
} as const satisfies Deno.ForeignLibraryInterface;

for (const entry of Object.values(LIBC_SYMBOLS)) {
  Object.freeze(entry.parameters);
  Object.freeze(entry);
}
Object.freeze(LIBC_SYMBOLS);

/** The opened libc: its typed symbols. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let opened: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined;

/**
 * The libc symbols, opened on first call: a frozen object (assigning a symbol
 * throws a `TypeError` in a module). Throws `UnsupportedPlatformError` off
 * Linux x86-64/aarch64.
 *
 * @example
 * ```ts
 * const pageSize = libc().getpagesize();
 * ```
 */
export function libc(): Libc {
  if (opened === undefined) {
    assertSupported();
    opened = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
    // Frozen: code in the same process (a student's, in a checker's child) must
    // not swap a symbol, say getrusage, for one that reports what it likes.
    Object.freeze(opened.symbols);
  }
  return opened.symbols;
}
