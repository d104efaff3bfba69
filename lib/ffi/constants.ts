/**
 * Linux constants for `mmap` and friends, for x86-64 and aarch64.
 *
 * Both architectures use the kernel's generic values for everything here
 * (`include/uapi/asm-generic/mman-common.h`, `fcntl.h`, `errno-base.h`,
 * `errno.h`), except the syscall numbers, which are looked up per
 * architecture in {@link SYS}. On any other platform {@link assertSupported}
 * throws {@link UnsupportedPlatformError} instead of handing out wrong numbers.
 *
 * @module
 */

/** Thrown on first use of the native layer on a platform other than Linux x86-64 or aarch64. */
export class UnsupportedPlatformError extends Error {
  /** The operating system Deno reports, e.g. `"darwin"`. */
  readonly os: string;
  /** The CPU architecture Deno reports, e.g. `"aarch64"`. */
  readonly arch: string;
  /**
   * Makes the error for a platform mmap-lab has no constants for.
   *
   * @example
   * ```ts
   * const err = new UnsupportedPlatformError("darwin", "aarch64");
   * console.log(err.message);
   * ```
   */
  constructor(os: string, arch: string) {
    super(
      `unsupported platform ${os}/${arch}: mmap-lab runs on Linux x86-64 and aarch64 ` +
        `(use a Linux VM, WSL 2 or a container)`,
    );
    this.name = "UnsupportedPlatformError";
    this.os = os;
    this.arch = arch;
  }
}

/** The architectures whose constants this module knows. */
export type SupportedArch = "x86_64" | "aarch64";

/**
 * Throws {@link UnsupportedPlatformError} unless this is Linux on x86-64 or aarch64.
 *
 * @example
 * ```ts
 * assertSupported(); // returns the architecture, or throws
 * ```
 */
export function assertSupported(): SupportedArch {
  const { os, arch } = Deno.build;
  if (os !== "linux" || (arch !== "x86_64" && arch !== "aarch64")) {
    throw new UnsupportedPlatformError(os, arch);
  }
  return arch;
}

/** Page protection bits for `mmap(2)` and `mprotect(2)`. */
export const PROT = {
  NONE: 0x0,
  READ: 0x1,
  WRITE: 0x2,
  EXEC: 0x4,
} as const;

/** Mapping flags for `mmap(2)`. */
export const MAP = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  SHARED_VALIDATE: 0x03,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  NORESERVE: 0x4000,
  POPULATE: 0x8000,
  FIXED_NOREPLACE: 0x100000,
} as const;

/** Flags for `msync(2)`: exactly one of `ASYNC` and `SYNC`, optionally `INVALIDATE`. */
export const MS = {
  ASYNC: 1,
  INVALIDATE: 2,
  SYNC: 4,
} as const;

/** Advice values for `madvise(2)`. */
export const MADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  FREE: 8,
  REMOVE: 9,
  DONTFORK: 10,
  DOFORK: 11,
  HUGEPAGE: 14,
  NOHUGEPAGE: 15,
  COLD: 20,
  PAGEOUT: 21,
  POPULATE_READ: 22,
  POPULATE_WRITE: 23,
} as const;

/** Flags for `open(2)` (the generic values, shared by x86-64 and aarch64). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/**
 * `inotify(7)`: the event bits mmap-lab watches for, and the flags of
 * `inotify_init1(2)` (`IN_NONBLOCK` and `IN_CLOEXEC` are `O_NONBLOCK` and
 * `O_CLOEXEC`). The same on every architecture (`include/uapi/linux/inotify.h`).
 *
 * @example
 * ```ts
 * const written = (mask: number) => (mask & INOTIFY.IN_MODIFY) !== 0;
 * ```
 */
export const INOTIFY = {
  /** The file was modified: write(2), truncate(2) and fallocate(2); never a store through a mapping. */
  IN_MODIFY: 0x2,
  /** The watched file's watch was removed (the file was deleted, or its file system unmounted). */
  IN_IGNORED: 0x8000,
  /** Too many events queued: some were dropped. */
  IN_Q_OVERFLOW: 0x4000,
  IN_NONBLOCK: 0o4000,
  IN_CLOEXEC: 0o2000000,
} as const;

/**
 * `statx(2)`: the `dirfd` and `flags` that matter here, the `mask` bits for
 * the fields asked for, and the file types in `stx_mode` (`S_IFMT` bits).
 * The same on every architecture (`include/uapi/linux/stat.h`, `fcntl.h`).
 *
 * @example
 * ```ts
 * const isFifo = (mode: number) => (mode & STATX.S_IFMT) === STATX.S_IFIFO;
 * ```
 */
export const STATX = {
  AT_FDCWD: -100,
  AT_EMPTY_PATH: 0x1000,
  TYPE: 0x1,
  SIZE: 0x200,
  S_IFMT: 0o170000,
  S_IFSOCK: 0o140000,
  S_IFLNK: 0o120000,
  S_IFREG: 0o100000,
  S_IFBLK: 0o060000,
  S_IFDIR: 0o040000,
  S_IFCHR: 0o020000,
  S_IFIFO: 0o010000,
} as const;

/** Flags for `memfd_create(2)`. */
export const MFD = {
  CLOEXEC: 0x1,
  ALLOW_SEALING: 0x2,
} as const;

/** Advice for `posix_fadvise(2)` (about a file's page cache, not a mapping). */
export const FADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  NOREUSE: 5,
} as const;

/** `whence` values for `lseek(2)`. */
export const SEEK = { SET: 0, CUR: 1, END: 2 } as const;

/** `who` values for `getrusage(2)`. */
export const RUSAGE = { SELF: 0, CHILDREN: -1, THREAD: 1 } as const;

/** Futex operations for `syscall(SYS_futex, …)`. */
export const FUTEX = { WAIT: 0, WAKE: 1 } as const;

/**
 * `prctl(2)` options (`include/uapi/linux/prctl.h`, the same on every architecture).
 *
 * @example
 * ```ts ignore
 * import * as sys from "../sys.ts";
 * sys.prctl(PR.SET_CHILD_SUBREAPER, 1);
 * ```
 */
export const PR = {
  SET_PDEATHSIG: 1,
  SET_DUMPABLE: 4,
  SET_CHILD_SUBREAPER: 36,
} as const;

/**
 * Option bits for `waitpid(2)` (`include/uapi/linux/wait.h`, the same on every architecture).
 *
 * @example
 * ```ts ignore
 * import * as sys from "../sys.ts";
 * sys.waitpid(pid, W.NOHANG); // 0 while the child still runs
 * ```
 */
export const W = {
  NOHANG: 1,
} as const;

/**
 * Signal numbers used through libc (the generic values: x86-64 and aarch64 agree).
 *
 * @example
 * ```ts ignore
 * import * as sys from "../sys.ts";
 * sys.ignoreSignal(SIG.XFSZ); // past RLIMIT_FSIZE: EFBIG instead of death
 * ```
 */
export const SIG = {
  KILL: 9,
  XFSZ: 25,
} as const;

/** Syscall numbers that differ between the architectures. */
export const SYS: Record<SupportedArch, { futex: number; getpid: number }> = {
  x86_64: { futex: 202, getpid: 39 },
  aarch64: { futex: 98, getpid: 172 },
};

/**
 * The machine code of a bare `ret` (return to the caller), per architecture:
 * the smallest function there is, for probing whether this process may run
 * code it wrote (`x86-64`: `c3`; `aarch64`: `d65f03c0`, little-endian).
 *
 * @example
 * ```ts
 * console.log(RETURN_INSTRUCTION.aarch64.length); // 4: every aarch64 instruction is 32 bits
 * ```
 */
export const RETURN_INSTRUCTION: Readonly<Record<SupportedArch, readonly number[]>> = {
  x86_64: [0xc3],
  aarch64: [0xc0, 0x03, 0x5f, 0xd6],
};

/** File system magic numbers from `statfs(2)` that matter to the lab. */
export const FS_MAGIC = {
  TMPFS: 0x01021994,
  EXT4: 0xef53,
  XFS: 0x58465342,
  BTRFS: 0x9123683e,
  OVERLAYFS: 0x794c7630,
  PROC: 0x9fa0,
} as const;

/**
 * errno names to numbers, Linux generic (x86-64 and aarch64 agree), e.g.
 * `ERRNO.EINVAL === 22`. `EWOULDBLOCK` is `EAGAIN` on Linux.
 *
 * @example
 * ```ts
 * import { MmapError } from "../errors.ts";
 * const err = new MmapError({ syscall: "mmap", errno: ERRNO.EINVAL });
 * console.log(err.code); // "EINVAL"
 * ```
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;

/**
 * errno numbers to names: {@link ERRNO} the other way round.
 *
 * @example
 * ```ts
 * console.log(ERRNO_NAMES[12]); // "ENOMEM"
 * ```
 */
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, errno]) => [errno, name]),
);

/**
 * The name of an errno value, e.g. `errnoName(22) === "EINVAL"`.
 *
 * @example
 * ```ts
 * console.log(errnoName(13)); // "EACCES"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}
