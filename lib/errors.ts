/**
 * Typed errors for every way a mapping can go wrong, each with a hint that
 * teaches.
 *
 * @module
 */

import { errnoName } from "./ffi/constants.ts";

/** Options for constructing an {@link MmapError}. */
export interface MmapErrorOptions {
  /** The libc call that failed or was refused, e.g. `"mmap"`. */
  syscall: string;
  /** The errno value (from `__errno_location()`, or the one the kernel would give). */
  errno: number;
  /** A one-line hint that says what to check; a default per syscall and errno is used if omitted. */
  hint?: string;
  /**
   * `true` when the kernel returned the error; `false` when mmap-lab refused
   * the call before making it because the answer was certain.
   */
  fromKernel?: boolean;
  /** Extra words for the message, e.g. the path. */
  detail?: string;
}

/**
 * A failed (or refused) memory-mapping call: which syscall, which errno, and
 * a one-line hint.
 *
 * @example
 * ```ts
 * import { mapFile, MmapError } from "./mod.ts";
 * try {
 *   mapFile("/no/such/file");
 * } catch (err) {
 *   if (err instanceof MmapError) console.log(err.syscall, err.code, err.hint);
 * }
 * ```
 */
export class MmapError extends Error {
  /** The libc call, e.g. `"mmap"`, `"msync"`, `"open"`. */
  readonly syscall: string;
  /** The errno number, e.g. 22. */
  readonly errno: number;
  /** The errno name, e.g. `"EINVAL"`. */
  readonly code: string;
  /** What to check, in one line. */
  readonly hint: string;
  /** Whether the kernel itself returned this error (`false`: refused before the call). */
  readonly fromKernel: boolean;

  /**
   * Makes an error for a failed or refused call; the message says the
   * syscall, the errno name and the hint.
   *
   * @example
   * ```ts
   * import { ERRNO } from "./ffi/constants.ts";
   * const err = new MmapError({ syscall: "mmap", errno: ERRNO.EINVAL });
   * console.log(err.message); // mmap failed: EINVAL (…)
   * ```
   */
  constructor(options: MmapErrorOptions) {
    const code = errnoName(options.errno);
    const hint = options.hint ?? defaultHint(options.syscall, code);
    const detail = options.detail ? ` ${options.detail}` : "";
    const origin = options.fromKernel === false ? " (refused before calling)" : "";
    super(`${options.syscall} failed: ${code}${origin}${detail}: ${hint}`);
    this.name = "MmapError";
    this.syscall = options.syscall;
    this.errno = options.errno;
    this.code = code;
    this.hint = hint;
    this.fromKernel = options.fromKernel ?? true;
  }
}

/**
 * Thrown by every method of a {@link Mapping} after `unmap()`: the memory is
 * gone, and touching it would crash the process.
 *
 * @example
 * ```ts
 * import { mapAnonymous, MappingClosedError } from "./mod.ts";
 * const m = mapAnonymous(4096);
 * m.unmap();
 * try { m.sync(); } catch (err) { console.log(err instanceof MappingClosedError); }
 * ```
 */
export class MappingClosedError extends Error {
  /** The method that was called on the closed mapping. */
  readonly operation: string;
  /**
   * Makes the error for `operation` on an unmapped mapping.
   *
   * @example
   * ```ts
   * console.log(new MappingClosedError("sync").message);
   * ```
   */
  constructor(operation: string) {
    super(
      `${operation}() on an unmapped Mapping: the memory was released by unmap(); ` +
        `map again instead of keeping the old Mapping`,
    );
    this.name = "MappingClosedError";
    this.operation = operation;
  }
}

/**
 * Thrown by `Mapping.asFunction`, and by the function it returns, when
 * the mapping is not executable (its protection is not `"readexec"`): a
 * jump into a page without `PROT_EXEC` is a `SIGSEGV`, which kills the
 * process, so the library refuses instead. Use `protect("readexec")` once the
 * code is written. (To meet the kernel's own answer, call through a raw
 * `Deno.UnsafeFnPointer`, in a process you can afford to lose.)
 *
 * @example
 * ```ts
 * import { mapAnonymous, NotExecutableError } from "./mod.ts";
 * using m = mapAnonymous(4096);
 * try {
 *   m.asFunction({ parameters: [], result: "void" });
 * } catch (err) {
 *   if (err instanceof NotExecutableError) console.log(err.access); // "readwrite"
 * }
 * ```
 */
export class NotExecutableError extends Error {
  /** The operation refused: `"asFunction"`, or `"call"` for the function it returned. */
  readonly operation: string;
  /** The mapping's protection at that moment, e.g. `"readwrite"`. */
  readonly access: string;
  /**
   * Makes the error for `operation` on a mapping whose protection is `access`.
   *
   * @example
   * ```ts
   * console.log(new NotExecutableError("call", "readwrite").message);
   * ```
   */
  constructor(operation: string, access: string) {
    super(
      `${operation}() on a mapping that is not executable (access "${access}"): running code ` +
        `from a page without PROT_EXEC is SIGSEGV; write the code while it is "readwrite", ` +
        `then protect("readexec") before calling it`,
    );
    this.name = "NotExecutableError";
    this.operation = operation;
    this.access = access;
  }
}

/** Options for constructing an {@link ArgumentError}. */
export interface ArgumentErrorOptions {
  /** The function or method that was called, e.g. `"mapFile"`, `"Mapping.sync"`, `"sys.mmap"`. */
  callee: string;
  /** The argument, e.g. `"path"`, `"options.mode"`, `"range"`. */
  argument: string;
  /** The value that was passed (described in the message, never kept). */
  value: unknown;
  /** What is allowed, in words, e.g. `'"shared" or "private"'`. */
  allowed: string;
}

/**
 * A value of the wrong type for an argument (a `TypeError`): a string where a
 * boolean or number belongs, `null` for an options object, an unknown mode,
 * a NUL byte in a path. Thrown before any libc call, so nothing is recorded.
 * Values of the right type that the kernel would refuse (a length of 0, an
 * unaligned offset) are {@link MmapError}s instead.
 *
 * @example
 * ```ts
 * import { ArgumentError, mapAnonymous } from "./mod.ts";
 * try {
 *   mapAnonymous(4096, { populate: "false" as unknown as boolean });
 * } catch (err) {
 *   if (err instanceof ArgumentError) console.log(err.argument, err.given); // options.populate "false"
 * }
 * ```
 */
export class ArgumentError extends TypeError {
  /** The function or method that was called, e.g. `"mapFile"`. */
  readonly callee: string;
  /** The argument, e.g. `"options.mode"`. */
  readonly argument: string;
  /** The value that was given, described: `"bogus"`, `null`, `5n`, `an object`. */
  readonly given: string;
  /** What is allowed, in words. */
  readonly allowed: string;

  /**
   * Makes the error; the message names the call, the argument, what is
   * allowed and what was given.
   *
   * @example
   * ```ts
   * const err = new ArgumentError({
   *   callee: "mapFile",
   *   argument: "options.mode",
   *   value: "bogus",
   *   allowed: '"shared" or "private"',
   * });
   * console.log(err.message); // mapFile: options.mode must be "shared" or "private" (got "bogus")
   * ```
   */
  constructor(options: ArgumentErrorOptions) {
    const given = describeValue(options.value);
    super(`${options.callee}: ${options.argument} must be ${options.allowed} (got ${given})`);
    this.name = "ArgumentError";
    this.callee = options.callee;
    this.argument = options.argument;
    this.given = given;
    this.allowed = options.allowed;
  }
}

/**
 * A short description of any value for an error message, that never throws:
 * strings quoted (and cut at 160 characters), bigints with `n`, objects by kind.
 *
 * @example
 * ```ts
 * console.log(describeValue("a\0b"), describeValue(5n), describeValue({})); // "a\u0000b" 5n an object
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string": {
      const text = JSON.stringify(value);
      return text.length > 162 ? `${text.slice(0, 160)}…"` : text;
    }
    case "bigint":
      return `${value}n`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    case "object":
      if (value === null) return "null";
      try {
        if (Array.isArray(value)) return "an array";
        const proto = Object.getPrototypeOf(value);
        // Deno's pointers are frozen objects without a prototype.
        if (proto === null) return Object.isFrozen(value) ? "a pointer" : "an object";
        const name = proto.constructor?.name;
        return typeof name === "string" && name !== "Object" ? `a ${name}` : "an object";
      } catch {
        return "an object"; // a Proxy whose traps throw
      }
    default:
      return String(value);
  }
}

const HINTS: Record<string, string> = {
  "mmap EINVAL":
    "length must be > 0, offset a multiple of the page size, and flags exactly one of MAP_SHARED/MAP_PRIVATE",
  "mmap EACCES":
    "MAP_SHARED with PROT_WRITE needs the file opened read-write (O_RDWR); any mapping needs it readable",
  "mmap EBADF": "the file descriptor is not open (closed already?) and MAP_ANONYMOUS was not given",
  "mmap ENODEV": "this file system (or file type) does not support memory mapping",
  "mmap ENOMEM":
    "no room for the mapping: address space exhausted or a resource limit (RLIMIT_AS) hit",
  "mmap EPERM":
    "the operation is forbidden here (a sealed memfd, PROT_EXEC on a noexec mount, or an address below vm.mmap_min_addr?)",
  "mmap ETXTBSY": "MAP_DENYWRITE on a file open for writing",
  "mmap EEXIST":
    "MAP_FIXED_NOREPLACE: part of the range is mapped already, and this flag never replaces a mapping",
  "mmap EOVERFLOW": "offset + length is too large for the file offset type",
  "munmap EINVAL": "the address must be page-aligned and the length > 0",
  "msync EINVAL":
    "the address must be page-aligned, and flags exactly one of MS_SYNC/MS_ASYNC (MS_INVALIDATE optional)",
  "msync ENOMEM":
    "part of the range is not mapped (synced after munmap, or past the mapping's end?)",
  "msync EBUSY": "MS_INVALIDATE on a locked range",
  "mprotect EINVAL": "the address must be page-aligned",
  "mprotect EACCES":
    "PROT_WRITE on a MAP_SHARED mapping of a file opened read-only, or PROT_EXEC where a security policy forbids executable memory (SELinux execmem, a noexec mount: deno task lab doctor)",
  "mprotect ENOMEM": "part of the range is not mapped",
  "madvise EINVAL": "the address must be page-aligned and the advice known to this kernel",
  "madvise ENOMEM": "part of the range is not mapped",
  "mincore EINVAL": "the address must be page-aligned",
  "mincore ENOMEM": "part of the range is not mapped",
  "open ENOENT": "no such file: check the path",
  "open EACCES": "permission denied: check the file's mode and the directories on its path",
  "open EISDIR": "that path is a directory, not a file",
  "open EEXIST": "the file exists already (O_EXCL)",
  "open EROFS": "read-only file system: open it read-only",
  "close EBADF": "the descriptor was not open: closed twice?",
  "ftruncate EBADF": "the descriptor is not open for writing: open the file read-write",
  "ftruncate EINVAL":
    "the length is negative, or the descriptor is not a regular file open for writing",
  "ftruncate EFBIG": "the length is past the file size limit (RLIMIT_FSIZE)",
  "pread EBADF": "the descriptor is not open for reading",
  "pwrite EBADF": "the descriptor is not open for writing",
  "lseek EBADF": "the descriptor is not open",
  "memfd_create EINVAL": "the name is too long or the flags are unknown",
};

function defaultHint(syscall: string, code: string): string {
  return HINTS[`${syscall} ${code}`] ??
    (code === "EBADF"
      ? "the file descriptor is not open (closed already?)"
      : `see the ERRORS section of man 2 ${syscall}`);
}
