/**
 * The raw layer: one typed function per libc call, which checks only that
 * each argument is of a type its C parameter can hold (an {@link ArgumentError},
 * a `TypeError`, otherwise: a string length, a float, `null`) and leaves every
 * value to the kernel. Each call is recorded in the call record (see
 * `trace.ts`) and a failure throws an {@link MmapError} carrying the kernel's
 * errno, read from `__errno_location()` right after the call.
 *
 * Use it to meet the kernel's own answers (`mmap` of length 0 really is
 * `EINVAL` here); use `mapFile`/`mapAnonymous` for everything else.
 *
 * @example
 * ```ts
 * import * as sys from "./sys.ts";
 * import { MAP, PROT } from "./ffi/constants.ts";
 * const size = sys.pageSize();
 * const ptr = sys.mmap(null, size, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
 * sys.munmap(ptr, size);
 * ```
 *
 * @module
 */

import { type Libc, libc } from "./ffi/libc.ts";
import {
  assertSupported,
  ERRNO,
  FUTEX,
  INOTIFY,
  O,
  RUSAGE,
  SEEK,
  STATX,
  SYS,
} from "./ffi/constants.ts";
import { MmapError } from "./errors.ts";
import {
  bufferArg,
  cStringArg,
  foreignFunction,
  int32,
  int64,
  optionalBoolean,
  pointerArg,
  refuseArgument,
  uint32,
} from "./validate.ts";
import { type CallRecord, type CallValue, claimRecorder, isRecording } from "./trace.ts";
import { errnoName } from "./ffi/constants.ts";

/**
 * The call record's write side: this module's alone (the harness seals the
 * record once this module has loaded, before any student code: see
 * `sealRecorder` in trace.ts).
 */
const record = claimRecorder();

// Taken as this module loads, before a student's code could replace them:
// the addresses in the call record are made with these.
const pointerValue = Deno.UnsafePointer.value;
const pointerEquals = Deno.UnsafePointer.equals;
const toBigInt = BigInt;
const bigintToString = Function.prototype.call.bind(BigInt.prototype.toString) as (
  value: bigint,
  radix: number,
) => string;
const getInt32 = Function.prototype.call.bind(Deno.UnsafePointerView.prototype.getInt32) as (
  view: Deno.UnsafePointerView,
) => number;

let lib: Libc | undefined;
function L(): Libc {
  if (lib === undefined) {
    lib = libc();
    // errno's address is fixed for this thread (and every JS isolate has its
    // own thread and its own copy of this module): look it up once, so that
    // reading errno after a failed call runs no other native code in between
    // that could overwrite it (seen once: a failed FUTEX_WAIT read as ENOENT,
    // which FUTEX_WAIT never returns).
    errnoView = new Deno.UnsafePointerView(lib.__errno_location()!);
  }
  return lib;
}
let errnoView: Deno.UnsafePointerView | undefined;

/** `MAP_FAILED`, `(void *) -1`; made on first use (it needs FFI permission). */
let mapFailed: Deno.PointerValue | undefined;

// 64-bit C arguments go to libc as BigInt (`int64()` in validate.ts): Deno's
// fast FFI calls take `usize`/`i64` parameters as BigInt, and a plain number
// sends every call down the slow generic path (measured: `mmap` 182 ns with a
// number, 24 ns with a BigInt).
const encoder = new TextEncoder();

/** The current thread's errno (`*__errno_location()`). */
export function errno(): number {
  L();
  return getInt32(errnoView!);
}

/**
 * A pointer as a `0x…` hex string (`"NULL"` for null), for messages and the call record.
 *
 * @example
 * ```ts
 * console.log(hex(null)); // "NULL"
 * ```
 */
export function hex(ptr: Deno.PointerValue): string {
  if (pointerArg(ptr, "sys.hex", "ptr") === null) return "NULL";
  return "0x" + bigintToString(toBigInt(pointerValue(ptr)), 16);
}

/**
 * The address of a pointer as a bigint (0n for null).
 *
 * @example
 * ```ts
 * console.log(addressOf(null)); // 0n
 * ```
 */
export function addressOf(ptr: Deno.PointerValue): bigint {
  return pointerArg(ptr, "sys.addressOf", "ptr") === null
    ? 0n
    : BigInt(Deno.UnsafePointer.value(ptr));
}

/**
 * A pointer from an address (`null` for 0).
 *
 * @example
 * ```ts
 * console.log(pointerAt(0n)); // null
 * ```
 */
export function pointerAt(address: bigint | number): Deno.PointerValue {
  const value = typeof address === "number" && Number.isSafeInteger(address)
    ? BigInt(address)
    : address;
  if (typeof value !== "bigint" || value < 0n || value >= 1n << 64n) {
    refuseArgument(
      "sys.pointerAt",
      "address",
      address,
      "a whole number from 0 to 2^64 - 1 (a bigint, or a safe integer)",
    );
  }
  return Deno.UnsafePointer.create(value);
}

function ptrArg(ptr: Deno.PointerValue): string | null {
  return ptr === null ? null : hex(ptr);
}

let cBuffer = new Uint8Array(256);
/**
 * `text` as a NUL-terminated C string, in a buffer reused by every call
 * (no allocation per `open`): valid until the next call, so pass it straight
 * to libc. Not a string, or a NUL byte inside: an `ArgumentError`.
 */
function cString(text: string, callee: string, argument: string): Uint8Array<ArrayBuffer> {
  cStringArg(text, callee, argument);
  if (text.length * 3 + 1 > cBuffer.length) cBuffer = new Uint8Array(text.length * 3 + 1);
  cBuffer[encoder.encodeInto(text, cBuffer).written] = 0;
  return cBuffer;
}

function fail(
  call: string,
  args: Record<string, CallValue>,
  result: CallValue,
  err: number,
  detail?: string,
): never {
  if (isRecording()) record({ call, args, result, error: errnoName(err) });
  throw new MmapError({ syscall: call, errno: err, detail });
}

function ok(call: string, args: Record<string, CallValue>, result: CallValue): void {
  record({ call, args, result });
}

/**
 * `mmap(2)`: maps `length` bytes. Returns the mapping's address; throws
 * `MmapError` on `MAP_FAILED`.
 */
export function mmap(
  addr: Deno.PointerValue,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: number,
): Deno.PointerObject {
  const C = "sys.mmap";
  const ptr = L().mmap(
    pointerArg(addr, C, "addr"),
    int64(length, C, "length"),
    int32(prot, C, "prot"),
    int32(flags, C, "flags"),
    int32(fd, C, "fd"),
    int64(offset, C, "offset"),
  );
  mapFailed ??= Deno.UnsafePointer.create(0xffff_ffff_ffff_ffffn);
  if (ptr === null || pointerEquals(ptr, mapFailed)) {
    const err = errno();
    fail("mmap", { addr: ptrArg(addr), length, prot, flags, fd, offset }, "MAP_FAILED", err);
  }
  if (isRecording()) ok("mmap", { addr: ptrArg(addr), length, prot, flags, fd, offset }, hex(ptr));
  return ptr;
}

/** An argument or result of a call into machine code, as the call record keeps it. */
function callValue(value: unknown): CallValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "number" || typeof value === "string") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : `${value}n`;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === null) {
    return hex(value as Deno.PointerObject); // a pointer
  }
  return ArrayBuffer.isView(value) ? `buffer(${value.byteLength})` : String(value);
}

/**
 * The machine code at `address` as a C function of `definition`: a raw
 * `Deno.UnsafeFnPointer`, with nothing checked. If the bytes there are not
 * such a function for this CPU, or the page is not executable, the process
 * dies (SIGSEGV, SIGILL) or hangs: use `Mapping.asFunction`, which refuses a
 * mapping that is not executable, unless meeting that is the point.
 *
 * Each call is recorded as `call(address, args…) = result`, and recorded as
 * it starts (the result is filled in when it returns), so a call that kills
 * the process is still in a record kept call by call.
 *
 * @example
 * ```ts ignore
 * const add = functionAt(address, { parameters: ["i32", "i32"], result: "i32" });
 * add(1, 2); // runs whatever is at `address`
 * ```
 */
export function functionAt<const Fn extends Deno.ForeignFunction>(
  address: Deno.PointerValue | bigint | number,
  definition: Fn,
): Deno.FromForeignFunction<Fn> {
  const C = "sys.functionAt";
  const pointer = typeof address === "bigint" || typeof address === "number"
    ? pointerAt(address)
    : pointerArg(address, C, "address");
  if (pointer === null) {
    refuseArgument(C, "address", address, "the address of machine code (not 0 or null)");
  }
  foreignFunction(definition, C, "definition");
  const fn = new Deno.UnsafeFnPointer(pointer as Deno.PointerObject<Fn>, definition);
  const native = (fn.call as (...args: unknown[]) => unknown).bind(fn);
  const addr = hex(pointer);
  const isVoid = definition.result === "void";
  const call = (...args: unknown[]): unknown => {
    if (!isRecording()) return native(...args);
    const named: Record<string, CallValue> = { addr };
    args.forEach((a, i) => named[`arg${i}`] = callValue(a));
    const entry: CallRecord = { call: "call", args: named, result: null };
    // Recorded before the jump: a crash inside still leaves the attempt on record.
    const complete = record(entry, true);
    const value = native(...args);
    complete(isVoid ? "void" : callValue(value));
    return value;
  };
  return call as Deno.FromForeignFunction<Fn>;
}

/** `munmap(2)`: removes the mappings in a range. Unmapping nothing is not an error. */
export function munmap(addr: Deno.PointerValue, length: number): void {
  const C = "sys.munmap";
  if (L().munmap(pointerArg(addr, C, "addr"), int64(length, C, "length")) !== 0) {
    fail("munmap", { addr: ptrArg(addr), length }, -1, errno());
  }
  if (isRecording()) ok("munmap", { addr: ptrArg(addr), length }, 0);
}

/** `msync(2)`: flushes a page-aligned range; `flags` from `MS`. */
export function msync(addr: Deno.PointerValue, length: number, flags: number): void {
  const C = "sys.msync";
  const len = int64(length, C, "length");
  if (L().msync(pointerArg(addr, C, "addr"), len, int32(flags, C, "flags")) !== 0) {
    fail("msync", { addr: ptrArg(addr), length, flags }, -1, errno());
  }
  if (isRecording()) ok("msync", { addr: ptrArg(addr), length, flags }, 0);
}

/** `mprotect(2)`: changes the protection of a page-aligned range; `prot` from `PROT`. */
export function mprotect(addr: Deno.PointerValue, length: number, prot: number): void {
  const C = "sys.mprotect";
  const len = int64(length, C, "length");
  if (L().mprotect(pointerArg(addr, C, "addr"), len, int32(prot, C, "prot")) !== 0) {
    fail("mprotect", { addr: ptrArg(addr), length, prot }, -1, errno());
  }
  if (isRecording()) ok("mprotect", { addr: ptrArg(addr), length, prot }, 0);
}

/** `madvise(2)`: gives advice about a page-aligned range; `advice` from `MADV`. */
export function madvise(addr: Deno.PointerValue, length: number, advice: number): void {
  const C = "sys.madvise";
  const len = int64(length, C, "length");
  if (L().madvise(pointerArg(addr, C, "addr"), len, int32(advice, C, "advice")) !== 0) {
    fail("madvise", { addr: ptrArg(addr), length, advice }, -1, errno());
  }
  if (isRecording()) ok("madvise", { addr: ptrArg(addr), length, advice }, 0);
}

/**
 * `mincore(2)`: fills `vec` with one byte per page of the range (bit 0:
 * resident in memory). `vec` needs `ceil(length / pageSize)` bytes: a smaller
 * one is refused (`ArgumentError`), as the kernel would write past its end.
 */
export function mincore(
  addr: Deno.PointerValue,
  length: number,
  vec: Uint8Array<ArrayBuffer>,
): void {
  const C = "sys.mincore";
  const len = int64(length, C, "length");
  const pages = len < 0n ? Infinity : Math.ceil(length / pageSize());
  if (bufferArg(vec, C, "vec").byteLength < pages) {
    refuseArgument(
      C,
      "vec",
      vec,
      `a Uint8Array of at least ${pages} bytes (one per page of length ${length})`,
    );
  }
  if (L().mincore(pointerArg(addr, C, "addr"), len, vec) !== 0) {
    fail("mincore", { addr: ptrArg(addr), length }, -1, errno());
  }
  if (isRecording()) ok("mincore", { addr: ptrArg(addr), length }, 0);
}

/** `open(2)`: opens a file; `flags` from `O`. Returns the descriptor. */
export function open(path: string, flags: number, mode = 0o644): number {
  const C = "sys.open";
  const fd = L().open(cString(path, C, "path"), int32(flags, C, "flags"), uint32(mode, C, "mode"));
  if (fd < 0) fail("open", { path, flags, mode }, -1, errno(), path);
  if (isRecording()) ok("open", { path, flags, mode }, fd);
  return fd;
}

/** `close(2)`. Closing does not unmap: mappings keep their own reference to the file. */
export function close(fd: number): void {
  if (L().close(int32(fd, "sys.close", "fd")) !== 0) fail("close", { fd }, -1, errno());
  if (isRecording()) ok("close", { fd }, 0);
}

/** `ftruncate(2)`: sets a file's size (growing it with zeros, or cutting it). */
export function ftruncate(fd: number, length: number): void {
  const C = "sys.ftruncate";
  if (L().ftruncate(int32(fd, C, "fd"), int64(length, C, "length")) !== 0) {
    fail("ftruncate", { fd, length }, -1, errno());
  }
  if (isRecording()) ok("ftruncate", { fd, length }, 0);
}

/** `lseek(2)`: moves the file offset; returns the new offset. */
export function lseek(fd: number, offset: number, whence: number): number {
  const C = "sys.lseek";
  const pos = Number(
    L().lseek(int32(fd, C, "fd"), int64(offset, C, "offset"), int32(whence, C, "whence")),
  );
  if (pos < 0) fail("lseek", { fd, offset, whence }, -1, errno());
  if (isRecording()) ok("lseek", { fd, offset, whence }, pos);
  return pos;
}

/**
 * The size of an open file in bytes (`lseek(fd, 0, SEEK_END)`). With
 * `keepPosition` (the default) the file position is put back where it was,
 * so the caller's next read or write is not moved.
 */
export function fileSize(fd: number, keepPosition = true): number {
  int32(fd, "sys.fileSize", "fd");
  optionalBoolean(keepPosition, "sys.fileSize", "keepPosition");
  const position = keepPosition ? lseek(fd, 0, SEEK.CUR) : 0;
  const size = lseek(fd, 0, SEEK.END);
  if (keepPosition) lseek(fd, position, SEEK.SET);
  return size;
}

/** A file's type, from the `S_IFMT` bits of its mode. */
export type FileType =
  | "regular file"
  | "directory"
  | "FIFO"
  | "socket"
  | "character device"
  | "block device"
  | "symbolic link";

/** What `statx(2)` says about a file. */
export interface FileStatus {
  /** Its type: only a `"regular file"` can be mapped by `mapFile`. */
  type: FileType;
  /** Its size in bytes (`stx_size`). */
  size: number;
}

const FILE_TYPES: Record<number, FileType> = {
  [STATX.S_IFREG]: "regular file",
  [STATX.S_IFDIR]: "directory",
  [STATX.S_IFIFO]: "FIFO",
  [STATX.S_IFSOCK]: "socket",
  [STATX.S_IFCHR]: "character device",
  [STATX.S_IFBLK]: "block device",
  [STATX.S_IFLNK]: "symbolic link",
};

// struct statx: stx_mode (u16) at byte 28, stx_size (u64) at byte 40; 256 bytes in all.
const statxBytes = new Uint8Array(256);
const statxView = new DataView(statxBytes.buffer);
const EMPTY_PATH = new Uint8Array(1);

function statx(dirfd: number, path: Uint8Array<ArrayBuffer>, flags: number, what: string) {
  if (L().statx(dirfd, path, flags, STATX.TYPE | STATX.SIZE, statxBytes) !== 0) {
    throw new MmapError({ syscall: "statx", errno: errno(), detail: what });
  }
  const type = FILE_TYPES[statxView.getUint16(28, true) & STATX.S_IFMT];
  return { type, size: Number(statxView.getBigUint64(40, true)) };
}

/**
 * `statx(2)` on an open descriptor (`AT_EMPTY_PATH`, like `fstat`): the
 * file's type and size. Not recorded: it changes nothing (like `statfs`).
 */
export function fileStatus(fd: number): FileStatus {
  return statx(int32(fd, "sys.fileStatus", "fd"), EMPTY_PATH, STATX.AT_EMPTY_PATH, `fd ${fd}`);
}

/**
 * `statx(2)` on a path, following symbolic links (like `stat`): the type and
 * size of a file without opening it, which for a FIFO would wait for a
 * writer. Not recorded.
 */
export function pathStatus(path: string): FileStatus {
  return statx(STATX.AT_FDCWD, cString(path, "sys.pathStatus", "path"), 0, path);
}

/** `pread(2)`: reads into `buf` at `offset`; returns the count read (0 at end of file). */
export function pread(fd: number, buf: Uint8Array<ArrayBuffer>, offset: number): number {
  const C = "sys.pread";
  const size = BigInt(bufferArg(buf, C, "buf").byteLength);
  const n = Number(L().pread(int32(fd, C, "fd"), buf, size, int64(offset, C, "offset")));
  if (n < 0) fail("pread", { fd, count: buf.byteLength, offset }, -1, errno());
  if (isRecording()) ok("pread", { fd, count: buf.byteLength, offset }, n);
  return n;
}

/** `pwrite(2)`: writes `buf` at `offset`; returns the count written. */
export function pwrite(fd: number, buf: Uint8Array<ArrayBuffer>, offset: number): number {
  const C = "sys.pwrite";
  const size = BigInt(bufferArg(buf, C, "buf").byteLength);
  const n = Number(L().pwrite(int32(fd, C, "fd"), buf, size, int64(offset, C, "offset")));
  if (n < 0) fail("pwrite", { fd, count: buf.byteLength, offset }, -1, errno());
  if (isRecording()) ok("pwrite", { fd, count: buf.byteLength, offset }, n);
  return n;
}

/** `fsync(2)`: flushes a file's data and metadata to storage. */
export function fsync(fd: number): void {
  if (L().fsync(int32(fd, "sys.fsync", "fd")) !== 0) fail("fsync", { fd }, -1, errno());
  if (isRecording()) ok("fsync", { fd }, 0);
}

/**
 * `posix_fadvise(2)`: advice about a file's page cache; `FADV.DONTNEED`
 * drops its clean, unmapped pages (to measure from a cold cache). Unlike
 * most calls it returns the error number instead of setting errno.
 */
export function fadvise(fd: number, offset: number, length: number, advice: number): void {
  const C = "sys.fadvise";
  const err = L().posix_fadvise(
    int32(fd, C, "fd"),
    int64(offset, C, "offset"),
    int64(length, C, "length"),
    int32(advice, C, "advice"),
  );
  if (err !== 0) fail("posix_fadvise", { fd, offset, length, advice }, -1, err);
  if (isRecording()) ok("posix_fadvise", { fd, offset, length, advice }, 0);
}

/** `mkfifo(3)`: makes a named pipe at `path`. */
export function mkfifo(path: string, mode = 0o600): void {
  const C = "sys.mkfifo";
  if (L().mkfifo(cString(path, C, "path"), uint32(mode, C, "mode")) !== 0) {
    fail("mkfifo", { path, mode }, -1, errno(), path);
  }
  if (isRecording()) ok("mkfifo", { path, mode }, 0);
}

/**
 * `memfd_create(2)`: an anonymous file in RAM; returns its descriptor. Other
 * processes can open it as `/proc/<pid>/fd/<fd>`.
 */
export function memfdCreate(name: string, flags = 0): number {
  const C = "sys.memfdCreate";
  const fd = L().memfd_create(cString(name, C, "name"), uint32(flags, C, "flags"));
  if (fd < 0) fail("memfd_create", { name, flags }, -1, errno());
  if (isRecording()) ok("memfd_create", { name, flags }, fd);
  return fd;
}

let cachedPageSize = 0;
/** The page size in bytes (4096 on most x86-64 and aarch64 Linux systems; 16384 or 65536 on some). */
export function pageSize(): number {
  return cachedPageSize ||= L().getpagesize();
}

/** The process id, from libc. */
export function getpid(): number {
  return L().getpid();
}

/**
 * `setsid(2)`: makes this process the leader of a new session and process
 * group (whose id is its pid). Fails with EPERM in a process that already
 * leads a process group.
 */
export function setsid(): number {
  const sid = L().setsid();
  if (sid < 0) fail("setsid", {}, -1, errno());
  return sid;
}

/**
 * `signal(signum, SIG_IGN)`: this process (and what it execs) ignores the
 * signal from now on. For `SIGXFSZ`: a write or `ftruncate` past the
 * file-size limit then fails with `EFBIG` instead of killing the process.
 */
export function ignoreSignal(signal: number): void {
  const SIG_IGN = Deno.UnsafePointer.create(1n);
  const previous = L().signal(int32(signal, "sys.ignoreSignal", "signal"), SIG_IGN);
  // SIG_ERR is (void *) -1.
  if (previous !== null && Deno.UnsafePointer.value(previous) === 0xffff_ffff_ffff_ffffn) {
    fail("signal", { signal }, -1, errno());
  }
}

/** Resource usage of this process (`getrusage(RUSAGE_SELF)`). */
export interface ResourceUsage {
  /** Page faults served without I/O (`ru_minflt`). */
  minorFaults: number;
  /** Page faults that needed I/O (`ru_majflt`). */
  majorFaults: number;
  /** User CPU time, microseconds. */
  userMicros: number;
  /** System CPU time, microseconds. */
  systemMicros: number;
  /** Peak resident set size, KiB (`ru_maxrss`). */
  maxRssKiB: number;
}

const rusage = new BigInt64Array(18);
const rusageBytes = new Uint8Array(rusage.buffer);
/** `getrusage(2)` for this process (not recorded: checkers call it around student code). */
export function getrusage(who: number = RUSAGE.SELF): ResourceUsage {
  if (L().getrusage(int32(who, "sys.getrusage", "who"), rusageBytes) !== 0) {
    fail("getrusage", { who }, -1, errno());
  }
  // struct rusage on 64-bit Linux: two timevals (sec, usec), then longs.
  return {
    userMicros: Number(rusage[0] * 1_000_000n + rusage[1]),
    systemMicros: Number(rusage[2] * 1_000_000n + rusage[3]),
    maxRssKiB: Number(rusage[4]),
    minorFaults: Number(rusage[8]),
    majorFaults: Number(rusage[9]),
  };
}

/**
 * CPU time (user + system) that `getrusage(who)` reports, ms: this process
 * (`RUSAGE.SELF`, the default), or its children that have ended and been
 * waited for, with their own waited-for children (`RUSAGE.CHILDREN`).
 *
 * @example
 * ```ts
 * console.log(cpuTimeMs() > 0); // true: loading this module took some
 * ```
 */
export function cpuTimeMs(who: number = RUSAGE.SELF): number {
  const usage = getrusage(who);
  return (usage.userMicros + usage.systemMicros) / 1000;
}

const statfsBuf = new BigInt64Array(16);
/** `statfs(2)`: the file system's magic number (`f_type`) for a path, e.g. `0xef53` for ext4. */
export function fileSystemType(path: string): number {
  const cPath = cString(path, "sys.fileSystemType", "path");
  if (L().statfs(cPath, new Uint8Array(statfsBuf.buffer)) !== 0) {
    fail("statfs", { path }, -1, errno(), path);
  }
  return Number(statfsBuf[0]);
}

/** `prctl(2)` with one argument, e.g. `prctl(PR_SET_CHILD_SUBREAPER, 1)`. */
export function prctl(option: number, arg: number): void {
  const C = "sys.prctl";
  if (!Number.isSafeInteger(arg) || arg < 0) {
    refuseArgument(C, "arg", arg, "a whole number from 0 (C unsigned long)");
  }
  if (L().prctl(int32(option, C, "option"), BigInt(arg), 0n, 0n, 0n) !== 0) {
    fail("prctl", { option, arg }, -1, errno());
  }
}

/** `waitpid(2)`: reaps a child; returns its pid, or 0 with `WNOHANG` when it still runs. */
export function waitpid(pid: number, options = 0): number {
  const C = "sys.waitpid";
  const r = L().waitpid(int32(pid, C, "pid"), null, int32(options, C, "options"));
  if (r < 0) fail("waitpid", { pid, options }, -1, errno());
  return r;
}

/** Offset of `d_name` in glibc's `struct dirent` on 64-bit Linux (x86-64 and aarch64). */
const D_NAME = 19;

/**
 * The names in a directory (`opendir`/`readdir`), `.` and `..` included.
 * Works on `/proc` with `--allow-ffi` alone, where Deno's `readDir` asks for
 * `--allow-all`.
 */
export function listDirectory(path: string): string[] {
  const dir = L().opendir(cString(path, "sys.listDirectory", "path"));
  if (dir === null) fail("opendir", { path }, -1, errno(), path);
  const names: string[] = [];
  try {
    for (let entry = L().readdir(dir); entry !== null; entry = L().readdir(dir)) {
      names.push(Deno.UnsafePointerView.getCString(entry, D_NAME));
    }
  } finally {
    L().closedir(dir);
  }
  return names;
}

function futexAddress(view: Int32Array, index: number, callee: string): Deno.PointerValue {
  if (!(view instanceof Int32Array)) refuseArgument(callee, "view", view, "an Int32Array");
  if (!Number.isSafeInteger(index)) refuseArgument(callee, "index", index, "a whole number");
  if (index < 0 || index >= view.length) throw new RangeError(`futex index ${index} out of range`);
  // A view of mapped memory (an ArrayBuffer): the cast is for TypeScript before Deno 2.9.
  const base = Deno.UnsafePointer.of(view as Int32Array<ArrayBuffer>);
  return Deno.UnsafePointer.offset(base!, index * 4);
}

/**
 * `futex(FUTEX_WAIT)`: sleeps while `view[index] === expected` (as 32-bit
 * words: `expected` may be signed or unsigned; returns at
 * once otherwise). Returns `false` when the value had already changed
 * (`EAGAIN`) or a signal woke it (`EINTR`), `true` after a wake-up.
 * Works across processes on a `MAP_SHARED` mapping.
 */
export function futexWait(view: Int32Array, index: number, expected: number): boolean {
  const sys = SYS[assertSupported()].futex;
  const addr = futexAddress(view, index, "sys.futexWait");
  if (!Number.isInteger(expected) || expected < -(2 ** 31) || expected >= 2 ** 32) {
    refuseArgument(
      "sys.futexWait",
      "expected",
      expected,
      "a whole number from -2^31 to 2^32 - 1 (a 32-bit word)",
    );
  }
  // The kernel compares 32-bit words: 0xffffffff and -1 are the same value.
  const val = expected | 0;
  const r = L().syscall(BigInt(sys), addr, FUTEX.WAIT, val, null, null, 0);
  if (r !== 0n) {
    const err = errno();
    if (err === ERRNO.EAGAIN || err === ERRNO.EINTR) {
      if (isRecording()) {
        record({
          call: "futex",
          args: { addr: hex(addr), op: "FUTEX_WAIT", val },
          result: -1,
          error: errnoName(err),
        });
      }
      return false;
    }
    fail("futex", { addr: hex(addr), op: FUTEX.WAIT, val }, -1, err);
  }
  if (isRecording()) ok("futex", { addr: hex(addr), op: "FUTEX_WAIT", val }, 0);
  return true;
}

/** `futex(FUTEX_WAKE)`: wakes up to `count` processes sleeping on `view[index]`; returns how many woke. */
export function futexWake(view: Int32Array, index: number, count = 1): number {
  const sys = SYS[assertSupported()].futex;
  const addr = futexAddress(view, index, "sys.futexWake");
  const r = L().syscall(
    BigInt(sys),
    addr,
    FUTEX.WAKE,
    int32(count, "sys.futexWake", "count"),
    null,
    null,
    0,
  );
  if (r < 0n) fail("futex", { addr: hex(addr), op: FUTEX.WAKE, val: count }, -1, errno());
  if (isRecording()) ok("futex", { addr: hex(addr), op: "FUTEX_WAKE", val: count }, Number(r));
  return Number(r);
}

// ---------------------------------------------------------------------------
// Identities, and files handed to another user: what a grader running as root
// needs to run its children as a user of their own (lib/checker/identity.ts,
// lib/grader/isolation.ts). Not recorded: the wrapper's bookkeeping, never a
// student's call.

/** The real user id of this process (`getuid(2)`). */
export function getuid(): number {
  return L().getuid();
}

/** The real group id of this process (`getgid(2)`). */
export function getgid(): number {
  return L().getgid();
}

/** The parent's process id (`getppid(2)`): 1, or a subreaper's, once the parent has died. */
export function getppid(): number {
  return L().getppid();
}

/**
 * Drops every supplementary group (`setgroups(0, NULL)`): needs `CAP_SETGID`.
 * glibc applies it to every thread of the process.
 */
export function dropSupplementaryGroups(): void {
  if (L().setgroups(0n, null) !== 0) fail("setgroups", { size: 0 }, -1, errno());
}

/** `setresgid(2)` with one id for the real, effective and saved group ids (every thread). */
export function setAllGids(gid: number): void {
  const id = uint32(gid, "sys.setAllGids", "gid");
  if (L().setresgid(id, id, id) !== 0) fail("setresgid", { gid }, -1, errno());
}

/** `setresuid(2)` with one id for the real, effective and saved user ids (every thread). */
export function setAllUids(uid: number): void {
  const id = uint32(uid, "sys.setAllUids", "uid");
  if (L().setresuid(id, id, id) !== 0) fail("setresuid", { uid }, -1, errno());
}

/** Whether an account (`getpwuid`: /etc/passwd, or any name service) has this uid. */
export function accountExists(uid: number): boolean {
  return L().getpwuid(uint32(uid, "sys.accountExists", "uid")) !== null;
}

/** Whether a group (`getgrgid`: /etc/group, or any name service) has this gid. */
export function groupExists(gid: number): boolean {
  return L().getgrgid(uint32(gid, "sys.groupExists", "gid")) !== null;
}

/** `O_NOFOLLOW` and `O_DIRECTORY` differ on aarch64 (asm/fcntl.h); `O_NOCTTY` does not. */
const OPEN_NOFOLLOW = { x86_64: 0o400000, aarch64: 0o100000 } as const;
const OPEN_DIRECTORY = { x86_64: 0o200000, aarch64: 0o40000 } as const;
const OPEN_NOCTTY = 0o400;

/**
 * `openat(2)` relative to a directory descriptor (`STATX.AT_FDCWD` for the
 * current directory), read-only, never following a symbolic link (`ELOOP`),
 * never blocking (a FIFO opens at once), close-on-exec; with `directory`,
 * only a directory (`ENOTDIR`). Returns the descriptor.
 */
export function openNoFollow(dirfd: number, path: string, directory = false): number {
  const arch = assertSupported();
  const flags = O.RDONLY | O.NONBLOCK | O.CLOEXEC | OPEN_NOCTTY | OPEN_NOFOLLOW[arch] |
    (directory ? OPEN_DIRECTORY[arch] : 0);
  const fd = L().openat(
    int32(dirfd, "sys.openNoFollow", "dirfd"),
    cString(path, "sys.openNoFollow", "path"),
    flags,
    0,
  );
  if (fd < 0) fail("openat", { dirfd, path, flags }, -1, errno(), path);
  return fd;
}

/** Who owns an open file, how many names it has, and its type and permission bits (`statx`). */
export interface Ownership {
  /** `stx_uid`. */
  uid: number;
  /** `stx_gid`. */
  gid: number;
  /** `stx_nlink`: more than 1 for a file with other (hard) links elsewhere. */
  links: number;
  /** The file type (`S_IFMT` bits of `stx_mode`, see `STATX`). */
  type: number;
  /** The permission bits (`stx_mode & 0o7777`). */
  mode: number;
}

/** `statx(2)` on a descriptor: its owner, link count, type and mode. Not recorded. */
export function ownership(fd: number): Ownership {
  const C = "sys.ownership";
  const mask = STATX.TYPE | 0x2 /* MODE */ | 0x4 /* NLINK */ | 0x8 /* UID */ | 0x10; /* GID */
  if (L().statx(int32(fd, C, "fd"), EMPTY_PATH, STATX.AT_EMPTY_PATH, mask, statxBytes) !== 0) {
    throw new MmapError({ syscall: "statx", errno: errno(), detail: `fd ${fd}` });
  }
  // struct statx: stx_nlink u32 at 16, stx_uid at 20, stx_gid at 24, stx_mode u16 at 28.
  const mode = statxView.getUint16(28, true);
  return {
    links: statxView.getUint32(16, true),
    uid: statxView.getUint32(20, true),
    gid: statxView.getUint32(24, true),
    type: mode & STATX.S_IFMT,
    mode: mode & 0o7777,
  };
}

/** `fchown(2)`: gives an open file to a user and group (root only). */
export function fchown(fd: number, uid: number, gid: number): void {
  const C = "sys.fchown";
  if (L().fchown(int32(fd, C, "fd"), uint32(uid, C, "uid"), uint32(gid, C, "gid")) !== 0) {
    fail("fchown", { fd, uid, gid }, -1, errno());
  }
}

/**
 * `inotify_init1(2)` and `inotify_add_watch(2)`: a non-blocking descriptor
 * that queues the events in `mask` (`INOTIFY`) of the file at `path`, from
 * every process. Close it with {@link close}. Not recorded.
 *
 * @example
 * ```ts ignore
 * const fd = watchFile(path, INOTIFY.IN_MODIFY);
 * // … another process writes the file …
 * const masks = readWatchEvents(fd); // [2]
 * close(fd);
 * ```
 */
export function watchFile(path: string, mask: number): number {
  const fd = L().inotify_init1(INOTIFY.IN_NONBLOCK | INOTIFY.IN_CLOEXEC);
  if (fd < 0) throw new MmapError({ syscall: "inotify_init1", errno: errno(), detail: path });
  const C = "sys.watchFile";
  if (L().inotify_add_watch(fd, cString(path, C, "path"), uint32(mask, C, "mask")) < 0) {
    const e = errno();
    L().close(fd);
    throw new MmapError({ syscall: "inotify_add_watch", errno: e, detail: path });
  }
  return fd;
}

/**
 * `read(2)` of a descriptor from {@link watchFile}: the mask of each event
 * queued since the last read, oldest first (empty when none). Not recorded.
 */
export function readWatchEvents(fd: number): number[] {
  const masks: number[] = [];
  const buffer = new Uint8Array(4096);
  const view = new DataView(buffer.buffer);
  for (;;) {
    const n = Number(L().read(int32(fd, "sys.readWatchEvents", "fd"), buffer, 4096n));
    if (n < 0) {
      const e = errno();
      if (e === ERRNO.EAGAIN) return masks;
      throw new MmapError({ syscall: "read", errno: e, detail: `inotify fd ${fd}` });
    }
    if (n === 0) return masks;
    // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
    for (let at = 0; at + 16 <= n; at += 16 + view.getUint32(at + 12, true)) {
      masks.push(view.getUint32(at + 4, true));
    }
  }
}

/** `fchmod(2)`: sets an open file's permission bits. */
export function fchmod(fd: number, mode: number): void {
  const C = "sys.fchmod";
  if (L().fchmod(int32(fd, C, "fd"), uint32(mode, C, "mode")) !== 0) {
    fail("fchmod", { fd, mode }, -1, errno());
  }
}
