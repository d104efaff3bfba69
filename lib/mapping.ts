/**
 * `Mapping`: a region of memory mapped with `mmap(2)`, safe to hold and to
 * drop. Views of it never outlive it: `unmap()` detaches the one
 * `ArrayBuffer` it handed out, so a stale `Uint8Array` reads as length 0
 * instead of crashing the process.
 *
 * @module
 */

import * as sys from "./sys.ts";
import { ERRNO, MADV, MAP, MFD, MS, O, PROT } from "./ffi/constants.ts";
import { MappingClosedError, MmapError, NotExecutableError } from "./errors.ts";
import {
  type MappingKind,
  type PageInfo,
  pagemap,
  type PageState,
  pageState,
  smaps,
  type SmapsEntry,
} from "./inspect.ts";
import {
  cStringArg,
  foreignFunction,
  int32,
  numberArg,
  oneOf,
  optionalAddress,
  optionalBoolean,
  optionalNumber,
  optionalOneOf,
  optionsObject,
  pointerArg,
  refuseArgument,
} from "./validate.ts";

/** `"shared"`: writes reach the file and every other mapping (`MAP_SHARED`); `"private"`: copy-on-write (`MAP_PRIVATE`). */
export type MapMode = "shared" | "private";

/** What a mapping allows when it is made. */
export type Access = "read" | "readwrite";

/**
 * What `protect()` can set: `"none"` makes every access fault; `"readexec"`
 * (`PROT_READ | PROT_EXEC`) lets the CPU run the bytes as code, and makes
 * stores fault. There is no writable *and* executable protection: the
 * library keeps W^X (write xor execute). `sys.mprotect` can do anything.
 */
export type Protection = "none" | "read" | "readwrite" | "readexec";

/** What {@link mapAnonymous} can map: fresh memory holds zeros, so never code (`"readexec"`). */
export type AnonymousAccess = Exclude<Protection, "readexec">;

/** Hints for `advise()`. None of them changes the data (see `discard()` for the one that does). */
export type Advice =
  | "normal"
  | "random"
  | "sequential"
  | "willneed"
  | "cold"
  | "pageout"
  | "hugepage"
  | "nohugepage"
  | "dontfork"
  | "dofork";

/** Options for {@link mapFile} and {@link mapDescriptor}. */
export interface MapFileOptions {
  /** `"shared"` (default) or `"private"`. */
  mode?: MapMode;
  /** `"read"` (default) or `"readwrite"`. A private read-write mapping needs the file readable only. */
  access?: Access;
  /** Where in the file the mapping starts, in bytes; a multiple of the page size. Default 0. */
  offset?: number;
  /** How many bytes to map. Default: the file's size minus `offset`. */
  length?: number;
  /** Pre-fault every page now (`MAP_POPULATE`) instead of on first touch. */
  populate?: boolean;
  /**
   * Allow a mapping that reaches past the end of the file. Touching a page
   * that lies wholly past the end raises SIGBUS, which kills the process, so
   * this is refused unless you say you will grow the file first.
   */
  allowPastEnd?: boolean;
}

/** Options for {@link mapAnonymous}. */
export interface MapAnonymousOptions {
  /**
   * `"private"` (default, `MAP_PRIVATE`) or `"shared"` (`MAP_SHARED`: shared
   * with child processes made with `fork`), as for {@link mapFile}.
   */
  mode?: MapMode;
  /**
   * Share the memory with child processes (`MAP_SHARED`); default `false`.
   *
   * @deprecated Say `mode: "shared"` (or `"private"`), as `mapFile` does;
   * `shared` still works for this release.
   */
  shared?: boolean;
  /**
   * `"readwrite"` (default), `"read"` or `"none"`. Not `"readexec"`: fresh
   * memory holds only zeros. Map it read-write, copy the code in, then
   * `protect("readexec")`.
   */
  access?: AnonymousAccess;
  /** Pre-fault every page now (`MAP_POPULATE`). */
  populate?: boolean;
  /**
   * Where you would like the mapping: `mmap`'s `addr` argument. Without
   * `exact` it is a **hint**: the kernel takes it if the range is free and
   * puts the mapping elsewhere otherwise (compare `mapping.address`).
   */
  address?: bigint | number;
  /**
   * Map exactly at `address` (a multiple of the page size), or fail:
   * `MAP_FIXED_NOREPLACE`, an `MmapError` `EEXIST` when any page of the range
   * is mapped already. It never replaces a mapping (plain `MAP_FIXED`, which
   * does, silently, is only in `sys.mmap`). Default `false`.
   */
  exact?: boolean;
}

/** Options for {@link Mapping.sync}. */
export interface SyncOptions {
  /** `"sync"` (default) waits for the write to storage (`MS_SYNC`); `"async"` only schedules it (`MS_ASYNC`). */
  mode?: "sync" | "async";
  /** Also `MS_INVALIDATE`: drop other cached copies (almost a no-op on Linux). */
  invalidate?: boolean;
  /** First byte of the range to sync, relative to the mapping; aligned down to a page. Default 0. */
  offset?: number;
  /** Bytes to sync from `offset`; the end is aligned up to a page. Default: to the end. */
  length?: number;
}

/** A byte range inside a mapping, for `advise()` and `discard()`; aligned out to whole pages. */
export interface ByteRange {
  /** First byte, relative to the mapping. Default 0. */
  offset?: number;
  /** Length in bytes. Default: to the end. */
  length?: number;
}

/** A page of a mapping with what the kernel says about it, from {@link Mapping.pages}. */
export interface MappingPage extends PageInfo {
  /** Page number within the mapping. */
  index: number;
  /** Its state, as `pageState()` names it. */
  state: PageState;
}

/** Where a {@link Mapping} came from. */
export interface MappingSource {
  /** The file's path, or the descriptor's `/proc/self/fd/N`; `undefined` for anonymous memory. */
  path?: string;
  /** `"shared"` or `"private"`. */
  mode: MapMode;
  /** Offset of the mapping in the file. */
  offset: number;
}

const PROTECTION: Record<Protection, number> = {
  none: PROT.NONE,
  read: PROT.READ,
  readwrite: PROT.READ | PROT.WRITE,
  readexec: PROT.READ | PROT.EXEC,
};

const ADVICE: Record<Advice, number> = {
  normal: MADV.NORMAL,
  random: MADV.RANDOM,
  sequential: MADV.SEQUENTIAL,
  willneed: MADV.WILLNEED,
  cold: MADV.COLD,
  pageout: MADV.PAGEOUT,
  hugepage: MADV.HUGEPAGE,
  nohugepage: MADV.NOHUGEPAGE,
  dontfork: MADV.DONTFORK,
  dofork: MADV.DOFORK,
};

const MODES: readonly MapMode[] = ["shared", "private"];
const ACCESSES: readonly Access[] = ["read", "readwrite"];
const PROTECTIONS = Object.keys(PROTECTION) as Protection[];
const ANONYMOUS_ACCESSES: readonly AnonymousAccess[] = ["readwrite", "read", "none"];
const ADVICES = Object.keys(ADVICE) as Advice[];
const SYNC_MODES: readonly ("sync" | "async")[] = ["sync", "async"];

function refuse(syscall: string, errno: number, hint: string): never {
  throw new MmapError({ syscall, errno, hint, fromKernel: false });
}

function requireCount(value: number, what: string, syscall: string, allowZero = false): void {
  if (!Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0)) {
    refuse(
      syscall,
      ERRNO.EINVAL,
      `${what} must be a ${
        allowZero ? "non-negative" : "positive"
      } whole number of bytes (got ${value})` +
        (value === 0 ? ": mmap of length 0 is EINVAL" : ""),
    );
  }
}

/**
 * A live memory mapping. Make one with {@link mapFile}, {@link mapAnonymous}
 * or {@link mapDescriptor}; release it with `unmap()` or a `using`
 * declaration.
 *
 * @example
 * ```ts
 * import { mapAnonymous } from "./mod.ts";
 * using m = mapAnonymous(4096);
 * m.bytes[0] = 42;
 * console.log(m.residency()); // [true]
 * ```
 */
export class Mapping {
  #pointer: Deno.PointerObject | undefined;
  #buffer: ArrayBuffer | undefined;
  #bytes: Uint8Array | undefined;
  #access: Protection;
  readonly #kind: MappingKind;

  /** The mapping's first address. */
  readonly address: bigint;
  /** Its length in bytes, as asked for. The kernel maps whole pages: see {@link Mapping.pageCount}. */
  readonly length: number;
  /** The system page size in bytes. */
  readonly pageSize: number;
  /** Where it came from: file path (if any), shared or private, file offset. */
  readonly source: MappingSource;

  /**
   * Wraps an address returned by `mmap`. Prefer `mapFile`/`mapAnonymous`;
   * this is for a region you mapped yourself with `sys.mmap` and now hand over
   * (the `Mapping` will unmap it).
   *
   * @example
   * ```ts
   * import * as sys from "./sys.ts";
   * import { MAP, PROT } from "./ffi/constants.ts";
   * const ptr = sys.mmap(null, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
   * using m = new Mapping(ptr, 4096, "readwrite", { mode: "private", offset: 0 });
   * ```
   */
  constructor(
    pointer: Deno.PointerObject,
    length: number,
    access: Protection,
    source: MappingSource,
    kind?: MappingKind,
  ) {
    const C = "new Mapping";
    if (pointerArg(pointer, C, "pointer") === null) {
      refuseArgument(C, "pointer", pointer, "the pointer mmap returned (not null)");
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      refuseArgument(C, "length", length, "the mapping's length in bytes, a whole number > 0");
    }
    oneOf(access, PROTECTIONS, C, "access");
    oneOf(optionsObject(source, C, "source").mode, MODES, C, "source.mode");
    this.#pointer = pointer;
    this.#access = access;
    this.address = sys.addressOf(pointer);
    this.length = length;
    this.pageSize = sys.pageSize();
    this.source = source;
    this.#kind = kind ??
      `${source.path === undefined ? "anonymous" : "file"}-${source.mode}` as MappingKind;
  }

  #live(operation: string): Deno.PointerObject {
    if (this.#pointer === undefined) throw new MappingClosedError(operation);
    return this.#pointer;
  }

  /** `true` once `unmap()` has run. */
  get closed(): boolean {
    return this.#pointer === undefined;
  }

  /** Number of pages the mapping spans (`ceil(length / pageSize)`). */
  get pageCount(): number {
    return Math.ceil(this.length / this.pageSize);
  }

  /** The current protection: `"none"`, `"read"`, `"readwrite"` or `"readexec"` (as set through this object). */
  get access(): Protection {
    return this.#access;
  }

  /**
   * The whole region as bytes, without a copy: reading and writing it reads
   * and writes the mapped memory. Always the same view; make others from
   * `bytes.buffer` (e.g. an `Int32Array` for `Atomics`). After `unmap()`
   * every such view has length 0. Writing a `"read"` or `"readexec"`
   * mapping, or touching a `"none"` one, kills the process with SIGSEGV;
   * touching a page past
   * the end of a file that shrank (in this process or another) with SIGBUS.
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(4096);
   * const counters = new Int32Array(m.bytes.buffer);
   * Atomics.add(counters, 0, 1);
   * ```
   */
  get bytes(): Uint8Array {
    const pointer = this.#live("bytes");
    if (this.#bytes === undefined) {
      this.#buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, this.length);
      this.#bytes = new Uint8Array(this.#buffer);
    }
    return this.#bytes;
  }

  /**
   * The page-aligned span of `range` (an options object or a `ByteRange`,
   * already checked to be an object): its `offset` and `length` must be
   * numbers, and whole, non-negative and inside the mapping (`MmapError`).
   */
  #range(
    pointer: Deno.PointerObject,
    range: Readonly<Record<string, unknown>>,
    method: string,
    argument: string,
    operation: string,
  ): [Deno.PointerObject, number] {
    const callee = `Mapping.${method}`;
    const offset = optionalNumber(range.offset, callee, `${argument}.offset`) ?? 0;
    const length = optionalNumber(range.length, callee, `${argument}.length`) ??
      Math.max(0, this.length - offset);
    requireCount(offset, "offset", operation, true);
    requireCount(length, "length", operation, true);
    // The kernel works on whole pages: the tail of the last page belongs to the mapping too.
    const span = this.pageCount * this.pageSize;
    if (offset + length > span) {
      refuse(
        operation,
        ERRNO.ENOMEM,
        `range ${offset}+${length} reaches past the mapping's end (${span} bytes in ${this.pageCount} pages)`,
      );
    }
    const start = Math.floor(offset / this.pageSize) * this.pageSize;
    const end = Math.min(
      Math.ceil((offset + length) / this.pageSize) * this.pageSize,
      this.pageCount * this.pageSize,
    );
    return [Deno.UnsafePointer.offset(pointer, start)!, end - start];
  }

  /**
   * Flushes dirty pages to the file (`msync`). The range is aligned out to
   * whole pages for you. Visibility to other processes never needs this:
   * `MAP_SHARED` writes are seen at once. `sync` is about reaching storage.
   *
   * @example
   * ```ts
   * import { mapFile } from "./mod.ts";
   * const path = Deno.makeTempFileSync();
   * Deno.writeFileSync(path, new Uint8Array(8192));
   * using m = mapFile(path, { access: "readwrite" });
   * m.bytes[5000] = 1;
   * m.sync({ offset: 5000, length: 1 }); // syncs the second page only
   * ```
   */
  sync(options: SyncOptions = {}): void {
    const live = this.#live("sync");
    const o = optionsObject(options, "Mapping.sync");
    const mode = optionalOneOf(o.mode, SYNC_MODES, "sync", "Mapping.sync", "options.mode");
    const invalidate = optionalBoolean(o.invalidate, "Mapping.sync", "options.invalidate");
    const [pointer, length] = this.#range(live, o, "sync", "options", "msync");
    const flags = (mode === "async" ? MS.ASYNC : MS.SYNC) | (invalidate ? MS.INVALIDATE : 0);
    sys.msync(pointer, length, flags);
  }

  /**
   * Changes the protection of the whole mapping (`mprotect`). `"read"` makes
   * writes fault; `"none"` makes every access fault; `"readexec"`
   * (`PROT_READ | PROT_EXEC`) makes the bytes runnable code and writes
   * fault (W^X: write the code first, then protect it). Some systems refuse
   * executable anonymous memory (`EACCES`: `deno task lab doctor` says).
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(4096);
   * m.protect("read");
   * console.log(m.access); // "read"
   * ```
   */
  protect(access: Protection): void {
    const pointer = this.#live("protect");
    oneOf(access, PROTECTIONS, "Mapping.protect", "access");
    sys.mprotect(pointer, this.pageCount * this.pageSize, PROTECTION[access]);
    this.#access = access;
  }

  /**
   * The machine code at `offset` as a function you can call: a
   * `Deno.UnsafeFnPointer` with the C signature `definition`, checked. The
   * mapping must be executable (`protect("readexec")` after writing the code):
   * otherwise this, and every later call of the function, throws
   * `NotExecutableError` instead of jumping into a page without `PROT_EXEC`
   * (a SIGSEGV); after `unmap()` a call throws `MappingClosedError`. Each call
   * is in the call record as `call(address, args…) = result` (`sys.functionAt`
   * is the same call without the checks).
   *
   * The bytes must be a function for this CPU and its C calling convention:
   * wrong bytes crash the process (SIGILL, SIGSEGV) or never return.
   *
   * @example
   * ```ts
   * import { mapAnonymous, RETURN_INSTRUCTION } from "./mod.ts";
   * const arch = Deno.build.arch as "x86_64" | "aarch64";
   * using code = mapAnonymous(4096);
   * code.bytes.set(RETURN_INSTRUCTION[arch]); // store while writable…
   * code.protect("readexec"); // …then make it code
   * const nothing = code.asFunction({ parameters: [], result: "void" });
   * nothing(); // call(0x7f…) = void
   * ```
   */
  asFunction<const Fn extends Deno.ForeignFunction>(
    definition: Fn,
    offset = 0,
  ): Deno.FromForeignFunction<Fn> {
    const C = "Mapping.asFunction";
    const pointer = this.#live("asFunction");
    foreignFunction(definition, C, "definition");
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.length) {
      refuseArgument(C, "offset", offset, `a byte of the mapping, 0 to ${this.length - 1}`);
    }
    this.#executable("asFunction");
    const entry = offset === 0 ? pointer : Deno.UnsafePointer.offset(pointer, offset)!;
    const raw = sys.functionAt(entry, definition) as (...args: unknown[]) => unknown;
    const call = (...args: unknown[]): unknown => {
      this.#live("call");
      this.#executable("call");
      return raw(...args);
    };
    return call as Deno.FromForeignFunction<Fn>;
  }

  #executable(operation: string): void {
    if (this.#access !== "readexec") throw new NotExecutableError(operation, this.#access);
  }

  /**
   * Gives the kernel a hint about how the memory will be used (`madvise`).
   * Hints never change the data; see {@link Mapping.discard} for the one
   * that does.
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(4096);
   * m.advise("sequential"); // VmFlags in smaps now shows "sr"
   * ```
   */
  advise(advice: Advice, range?: ByteRange): void {
    const live = this.#live("advise");
    oneOf(advice, ADVICES, "Mapping.advise", "advice");
    const r = optionsObject(range, "Mapping.advise", "range");
    const [pointer, length] = this.#range(live, r, "advise", "range", "madvise");
    sys.madvise(pointer, length, ADVICE[advice]);
  }

  /**
   * Drops pages (`MADV_DONTNEED`). On private memory this **destroys data**:
   * anonymous pages read as zeros afterwards, private file pages show the
   * file again. On a shared file mapping the data stays in the file.
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(4096);
   * m.bytes[0] = 7;
   * m.discard();
   * console.log(m.bytes[0]); // 0
   * ```
   */
  discard(range?: ByteRange): void {
    const live = this.#live("discard");
    const r = optionsObject(range, "Mapping.discard", "range");
    const [pointer, length] = this.#range(live, r, "discard", "range", "madvise");
    sys.madvise(pointer, length, MADV.DONTNEED);
  }

  /**
   * Which pages are resident in memory (`mincore`): one boolean per page.
   * For a file mapping this is the page cache, whoever brought the page in.
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(3 * 4096);
   * m.bytes[4096] = 1;
   * console.log(m.residency()); // [false, true, false]
   * ```
   */
  residency(): boolean[] {
    const pointer = this.#live("residency");
    const vec = new Uint8Array(this.pageCount);
    sys.mincore(pointer, this.pageCount * this.pageSize, vec);
    return Array.from(vec, (b) => (b & 1) === 1);
  }

  /**
   * This mapping's `/proc/self/smaps` numbers (Rss, Private_Dirty, Anonymous,
   * VmFlags, …). If `mprotect` split it into several areas, the sizes are
   * summed and the flags are those of the first.
   *
   * smaps counts per *area*, and the kernel merges a private anonymous
   * mapping with an adjacent one of the same kind into one area. Then the
   * numbers include the neighbour's pages, and `exact` is `false` (`start`
   * and `end` show the whole area). `pages()` and `residency()` are always
   * per page of this mapping alone.
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(2 * 4096);
   * m.bytes[0] = 1;
   * console.log(m.smaps().rss); // 4096
   * ```
   */
  smaps(): SmapsEntry & { exact: boolean } {
    this.#live("smaps");
    const entries = smaps("self", this);
    const sum = { ...entries[0], fields: { ...entries[0].fields }, exact: true };
    for (const e of entries.slice(1)) {
      for (const [name, value] of Object.entries(e.fields)) {
        sum.fields[name] = (sum.fields[name] ?? 0) + value;
      }
      for (
        const key of [
          "size",
          "rss",
          "pss",
          "sharedClean",
          "sharedDirty",
          "privateClean",
          "privateDirty",
          "referenced",
          "anonymous",
          "swap",
        ] as const
      ) sum[key] += e[key];
      sum.end = e.end > sum.end ? e.end : sum.end;
    }
    sum.exact = sum.start === this.address &&
      sum.end === this.address + BigInt(this.pageCount * this.pageSize);
    return sum;
  }

  /**
   * Every page of the mapping as `/proc/self/pagemap` shows it, with its
   * state named (`absent`, `file`, `copied`, `own`, `zero`, `shared`).
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * using m = mapAnonymous(2 * 4096);
   * m.bytes[0] = 1;
   * console.log(m.pages().map((p) => p.state)); // ["own", "absent"]
   * ```
   */
  pages(): MappingPage[] {
    this.#live("pages");
    return pagemap(this.address, this.pageCount).map((page, index) => ({
      ...page,
      index,
      state: pageState(page, this.#kind),
    }));
  }

  /**
   * Releases the memory (`munmap`). Every view handed out by `bytes` is
   * detached first and reads as length 0 from now on. Calling it again does
   * nothing.
   *
   * @example
   * ```ts
   * import { mapAnonymous } from "./mod.ts";
   * const m = mapAnonymous(4096);
   * const view = m.bytes;
   * m.unmap();
   * console.log(view.length, m.closed); // 0 true
   * ```
   */
  unmap(): void {
    const pointer = this.#pointer;
    if (pointer === undefined) return;
    sys.munmap(pointer, this.pageCount * this.pageSize);
    this.#pointer = undefined;
    this.#buffer?.transfer(0);
    this.#buffer = undefined;
    this.#bytes = undefined;
  }

  /** Unmaps at the end of a `using` scope. */
  [Symbol.dispose](): void {
    this.unmap();
  }

  /** A one-line description for `console.log`. */
  toString(): string {
    const what = this.source.path === undefined ? "anonymous" : this.source.path;
    const state = this.closed ? "unmapped" : `0x${this.address.toString(16)}`;
    return `Mapping(${this.source.mode} ${what}, ${this.length} bytes, ${this.#access}, ${state})`;
  }

  /** How `console.log` shows a mapping. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/** {@link MapFileOptions} with every value type-checked and the defaults filled in. */
interface FileOptions {
  mode: MapMode;
  access: Access;
  offset: number;
  length: number | undefined;
  populate: boolean;
  allowPastEnd: boolean;
}

/** Refuses (ENODEV, as mmap would) a FIFO, socket, directory or device. */
function requireRegularFile(path: string, type: sys.FileType): void {
  if (type === "regular file") return;
  const why = type === "FIFO"
    ? ": a FIFO (named pipe) has no pages to map, and opening it would wait for a writer; read it instead"
    : type === "directory"
    ? ": list it with Deno.readDir, and map the files in it"
    : type === "character device" || type === "block device"
    ? ": map a device with sys.open and sys.mmap"
    : "";
  refuse(
    "mmap",
    ERRNO.ENODEV,
    `${path} is a ${
      type ?? "special file"
    }, not a regular file: mapFile maps regular files only${why}`,
  );
}

function fileOptions(options: unknown, callee: string): FileOptions {
  const o = optionsObject(options, callee);
  return {
    mode: optionalOneOf(o.mode, MODES, "shared", callee, "options.mode"),
    access: optionalOneOf(o.access, ACCESSES, "read", callee, "options.access"),
    offset: optionalNumber(o.offset, callee, "options.offset") ?? 0,
    length: optionalNumber(o.length, callee, "options.length"),
    populate: optionalBoolean(o.populate, callee, "options.populate") ?? false,
    allowPastEnd: optionalBoolean(o.allowPastEnd, callee, "options.allowPastEnd") ?? false,
  };
}

/**
 * Maps the open file `fd`; `fileSize` is asked for its size once the options
 * have passed (so a refused offset makes no call).
 */
function mapOpenFile(
  fd: number,
  path: string,
  options: FileOptions,
  fileSize: () => number,
): Mapping {
  const { access, mode, offset } = options;
  const pageSize = sys.pageSize();
  requireCount(offset, "offset", "mmap", true);
  if (offset % pageSize !== 0) {
    const base = offset - (offset % pageSize);
    refuse(
      "mmap",
      ERRNO.EINVAL,
      `offset must be a multiple of the page size ${pageSize} (got ${offset}: map from ${base} and skip ${
        offset - base
      } bytes)`,
    );
  }
  const size = fileSize();
  if (options.length === undefined && size === 0) {
    refuse(
      "mmap",
      ERRNO.EINVAL,
      `the file is empty: mmap of length 0 is EINVAL, so handle an empty file without mapping it`,
    );
  }
  if (options.length === undefined && offset >= size) {
    refuse(
      "mmap",
      ERRNO.EINVAL,
      `offset ${offset} is at or past the end of the file (${size} bytes)`,
    );
  }
  const length = options.length ?? size - offset;
  requireCount(length, "length", "mmap");
  const lastPageStart = Math.ceil(size / pageSize) * pageSize;
  if (offset + length > lastPageStart && !options.allowPastEnd) {
    refuse(
      "mmap",
      ERRNO.EINVAL,
      `the mapping would reach past the end of the file (${size} bytes): touching a page wholly past ` +
        `the end raises SIGBUS; grow the file with ftruncate first, or pass allowPastEnd: true`,
    );
  }
  const prot = access === "readwrite" ? PROT.READ | PROT.WRITE : PROT.READ;
  const flags = (mode === "shared" ? MAP.SHARED : MAP.PRIVATE) |
    (options.populate ? MAP.POPULATE : 0);
  const pointer = sys.mmap(null, length, prot, flags, fd, offset);
  return new Mapping(pointer, length, access, { path, mode, offset });
}

/**
 * Maps a file into memory. The file is opened through libc (read-write only
 * for a shared read-write mapping) and its descriptor is **closed** before
 * this returns: the mapping keeps the file alive by itself.
 *
 * Refused before calling the kernel, with an `MmapError` whose hint says why:
 * an empty file without `length`, a length of 0, an offset that is not a
 * multiple of the page size, and a mapping reaching past the end of the file
 * (unless `allowPastEnd`), and a path that is not a regular file (a FIFO,
 * socket, directory or device: `ENODEV`; a FIFO is never opened, so this
 * never waits for a writer). Use `sys.mmap` to meet the kernel's own errors.
 * An argument of the wrong type (a path with a NUL byte, `populate: "false"`,
 * `mode: "bogus"`, `null` options) is an `ArgumentError`, a `TypeError`.
 *
 * @example
 * ```ts
 * import { mapFile } from "./mod.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello, mmap\n");
 * {
 *   using m = mapFile(path, { access: "readwrite" });
 *   m.bytes[0] = "H".charCodeAt(0);
 *   m.sync();
 * }
 * console.log(Deno.readTextFileSync(path)); // "Hello, mmap\n"
 * ```
 */
export function mapFile(path: string, options: MapFileOptions = {}): Mapping {
  cStringArg(path, "mapFile", "path");
  const o = fileOptions(options, "mapFile");
  const writable = o.access === "readwrite" && o.mode === "shared";
  // Only a regular file can be mapped, and opening a FIFO waits for a writer:
  // look before opening, then check what was opened (O_NONBLOCK: no wait if
  // the path became a FIFO in between). A failed look is left to open().
  let before: sys.FileStatus | undefined;
  try {
    before = sys.pathStatus(path);
  } catch { /* open() says why, as it always has */ }
  if (before) requireRegularFile(path, before.type);
  const fd = sys.open(path, (writable ? O.RDWR : O.RDONLY) | O.NONBLOCK | O.CLOEXEC);
  try {
    const status = sys.fileStatus(fd);
    requireRegularFile(path, status.type);
    return mapOpenFile(fd, path, o, () => status.size);
  } finally {
    sys.close(fd);
  }
}

/**
 * Maps an open file descriptor, such as one from `sys.memfdCreate` or
 * `sys.open`. The descriptor stays open and stays yours to close.
 *
 * @example
 * ```ts
 * import { mapDescriptor, sys } from "./mod.ts";
 * const fd = sys.memfdCreate("demo");
 * sys.ftruncate(fd, 4096);
 * using m = mapDescriptor(fd, { access: "readwrite" });
 * m.bytes[0] = 1;
 * sys.close(fd);
 * ```
 */
export function mapDescriptor(fd: number, options: MapFileOptions = {}): Mapping {
  int32(fd, "mapDescriptor", "fd");
  const o = fileOptions(options, "mapDescriptor");
  return mapOpenFile(fd, `/proc/self/fd/${fd}`, o, () => sys.fileSize(fd));
}

/** The mode of an anonymous mapping: `mode`, or the deprecated `shared` flag; refused if they disagree. */
function anonymousMode(options: Readonly<Record<string, unknown>>): MapMode {
  const shared = optionalBoolean(options.shared, "mapAnonymous", "options.shared");
  if (options.mode === undefined) return shared ? "shared" : "private";
  const mode = oneOf(options.mode, MODES, "mapAnonymous", "options.mode");
  if (shared !== undefined && shared !== (mode === "shared")) {
    refuse(
      "mmap",
      ERRNO.EINVAL,
      `mode ${JSON.stringify(mode)} and shared: ${shared} disagree: drop shared (deprecated)`,
    );
  }
  return mode;
}

/**
 * Maps fresh memory not backed by any file (`MAP_ANONYMOUS`): zero-filled,
 * given pages only as they are touched. `mode: "shared"` makes it visible to
 * child processes made with `fork` (not to `Deno.Command` children: share a
 * memfd or a file with those).
 *
 * `address` asks for a place (a hint the kernel may ignore); with
 * `exact: true` the mapping lands exactly there or the call fails with
 * `EEXIST` (`MAP_FIXED_NOREPLACE`; an unaligned address is refused first,
 * `EINVAL`). On kernels before 4.17, which ignore that flag and put the
 * mapping elsewhere, the library unmaps it and throws the same `EEXIST`
 * (`fromKernel: false`).
 *
 * @example
 * ```ts
 * import { mapAnonymous, MmapError } from "./mod.ts";
 * using m = mapAnonymous(1 << 20);
 * console.log(m.bytes[12345]); // 0
 * using forked = mapAnonymous(4096, { mode: "shared" });
 * console.log(forked.source.mode); // "shared"
 * try {
 *   mapAnonymous(4096, { address: m.address, exact: true }); // taken: never replaced
 * } catch (err) {
 *   console.log((err as MmapError).code); // "EEXIST"
 * }
 * ```
 */
export function mapAnonymous(length: number, options: MapAnonymousOptions = {}): Mapping {
  const C = "mapAnonymous";
  requireCount(numberArg(length, C, "length"), "length", "mmap");
  const o = optionsObject(options, C);
  if (o.access === "readexec") {
    refuseArgument(
      C,
      "options.access",
      o.access,
      '"readwrite", "read" or "none" (or undefined): fresh memory holds only zeros, so map it ' +
        '"readwrite", copy the code in, then protect("readexec")',
    );
  }
  const access = optionalOneOf(o.access, ANONYMOUS_ACCESSES, "readwrite", C, "options.access");
  const mode = anonymousMode(o);
  const populate = optionalBoolean(o.populate, C, "options.populate");
  const address = optionalAddress(o.address, C, "options.address");
  const exact = optionalBoolean(o.exact, C, "options.exact") ?? false;
  const ps = sys.pageSize();
  if (exact && address === undefined) {
    refuseArgument(C, "options.address", address, "an address when options.exact is true");
  }
  if (exact && address! % BigInt(ps) !== 0n) {
    refuse(
      "mmap",
      ERRNO.EINVAL,
      `with exact: true the address must be a multiple of the page size ${ps} ` +
        `(got 0x${address!.toString(16)})`,
    );
  }
  const flags = MAP.ANONYMOUS | (mode === "shared" ? MAP.SHARED : MAP.PRIVATE) |
    (populate ? MAP.POPULATE : 0) | (exact ? MAP.FIXED_NOREPLACE : 0);
  const addr = address === undefined ? null : sys.pointerAt(address);
  const pointer = sys.mmap(addr, length, PROTECTION[access], flags, -1, 0);
  if (exact && sys.addressOf(pointer) !== address) {
    sys.munmap(pointer, Math.ceil(length / ps) * ps);
    refuse(
      "mmap",
      ERRNO.EEXIST,
      `the range at 0x${address!.toString(16)} is taken, and this kernel (before 4.17) ignores ` +
        "MAP_FIXED_NOREPLACE: it put the mapping elsewhere, so it was unmapped again",
    );
  }
  return new Mapping(pointer, length, access, { mode, offset: 0 });
}

/**
 * Sets a file's size (`ftruncate`), creating it if needed: grow a file
 * before you map (or touch) past its old end.
 *
 * @example
 * ```ts
 * const path = Deno.makeTempFileSync();
 * resizeFile(path, 8192);
 * console.log(Deno.statSync(path).size); // 8192
 * ```
 */
export function resizeFile(path: string, size: number): void {
  cStringArg(path, "resizeFile", "path");
  requireCount(numberArg(size, "resizeFile", "size"), "size", "ftruncate", true);
  const fd = sys.open(path, O.RDWR | O.CREAT | O.CLOEXEC, 0o644);
  try {
    sys.ftruncate(fd, size);
  } finally {
    sys.close(fd);
  }
}

/**
 * Shared memory with no file on disk, that other processes can map: a
 * `memfd_create(2)` file of `length` bytes, mapped shared read-write. Another
 * process maps the same memory with `mapFile(shm.path, { access: "readwrite" })`
 * while this one keeps it open. The memory is gone once the last mapping and
 * descriptor are.
 *
 * @example
 * ```ts
 * import { mapSharedMemory } from "./mod.ts";
 * using shm = mapSharedMemory(4096);
 * shm.bytes[0] = 1;
 * console.log(shm.path); // /proc/<pid>/fd/<fd>: pass it to another process
 * ```
 */
export class SharedMemory extends Mapping {
  /** The memfd's descriptor in this process; closed by `unmap()`. */
  readonly fd: number;
  /** A path other processes can open or map while this one lives: `/proc/<pid>/fd/<fd>`. */
  readonly path: string;

  /**
   * Prefer {@link mapSharedMemory}.
   *
   * @example
   * ```ts
   * import { mapSharedMemory } from "./mod.ts";
   * using shm = mapSharedMemory(4096);
   * console.log(shm instanceof SharedMemory); // true
   * ```
   */
  constructor(pointer: Deno.PointerObject, length: number, fd: number) {
    int32(fd, "new SharedMemory", "fd");
    const path = `/proc/${sys.getpid()}/fd/${fd}`;
    super(pointer, length, "readwrite", { path, mode: "shared", offset: 0 }, "anonymous-shared");
    this.fd = fd;
    this.path = path;
  }

  /** Unmaps and closes the memfd. Calling it again does nothing. */
  override unmap(): void {
    if (this.closed) return;
    super.unmap();
    sys.close(this.fd);
  }
}

/**
 * Creates shared memory without a file on disk (see {@link SharedMemory}).
 *
 * @example
 * ```ts
 * import { mapSharedMemory } from "./mod.ts";
 * using shm = mapSharedMemory(8192, "counters");
 * new Int32Array(shm.bytes.buffer)[0] = 5;
 * ```
 */
export function mapSharedMemory(length: number, name = "mmap-lab"): SharedMemory {
  requireCount(numberArg(length, "mapSharedMemory", "length"), "length", "mmap");
  cStringArg(name, "mapSharedMemory", "name");
  const fd = sys.memfdCreate(name, MFD.CLOEXEC);
  try {
    sys.ftruncate(fd, length);
    const pointer = sys.mmap(null, length, PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0);
    return new SharedMemory(pointer, length, fd);
  } catch (err) {
    sys.close(fd);
    throw err;
  }
}
