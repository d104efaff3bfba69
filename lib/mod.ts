/**
 * mmap-lab's library: a small, safe wrapper over libc `mmap`, `msync` and
 * `munmap` (and `mprotect`, `madvise`, `mincore`, `memfd_create`,
 * `ftruncate`, and calls into code you mapped) for Deno, with the introspection that lets you *see* what the
 * kernel did: `/proc/self/smaps`, `/proc/self/pagemap`, residency and fault
 * counts. Linux x86-64 and aarch64; needs `--allow-ffi`.
 *
 * - Views of an unmapped region are detached, never dangling: no crash.
 * - Every failure is an {@link MmapError} with the syscall, errno name and a hint;
 *   an argument of the wrong type is an {@link ArgumentError} (a `TypeError`).
 * - Every libc call can be recorded ({@link recordCalls}), like a small strace.
 *
 * @example
 * ```ts
 * import { mapFile } from "./mod.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello, world\n");
 * {
 *   using m = mapFile(path, { access: "readwrite" }); // MAP_SHARED by default
 *   m.bytes.set(new TextEncoder().encode("HELLO"), 0); // write through memory
 *   m.sync(); // msync(MS_SYNC): on storage now
 * } // unmapped here
 * console.log(Deno.readTextFileSync(path)); // "HELLO, world\n"
 * ```
 *
 * @module
 */

export {
  type Access,
  type Advice,
  type AnonymousAccess,
  type ByteRange,
  mapAnonymous,
  type MapAnonymousOptions,
  mapDescriptor,
  mapFile,
  type MapFileOptions,
  type MapMode,
  Mapping,
  type MappingPage,
  type MappingSource,
  mapSharedMemory,
  type Protection,
  resizeFile,
  SharedMemory,
  type SyncOptions,
} from "./mapping.ts";
export {
  ArgumentError,
  type ArgumentErrorOptions,
  MappingClosedError,
  MmapError,
  type MmapErrorOptions,
  NotExecutableError,
} from "./errors.ts";
export {
  type AddressRange,
  type FaultCounts,
  faultCounts,
  type FileSystemInfo,
  fileSystemOf,
  type IoCounters,
  type MappingKind,
  type MapsEntry,
  type PageInfo,
  pagemap,
  type PageState,
  pageState,
  type Pid,
  type ProcessState,
  processState,
  procIo,
  procMaps,
  type ProcStat,
  procStat,
  readProcText,
  smaps,
  type SmapsEntry,
  threadFaultCounts,
  threadStat,
} from "./inspect.ts";
export {
  type CallRecord,
  type CallValue,
  formatCall,
  formatInvocation,
  recordCalls,
  recordedCalls,
  startRecording,
  stopRecording,
  withoutRecording,
} from "./trace.ts";
export {
  ERRNO,
  errnoName,
  FADV,
  MADV,
  MAP,
  MS,
  O,
  PROT,
  RETURN_INSTRUCTION,
  type SupportedArch,
  UnsupportedPlatformError,
} from "./ffi/constants.ts";
export { type DrawOptions, drawPages } from "./picture.ts";
/** The raw layer: one typed, recorded, unvalidated function per libc call. */
export * as sys from "./sys.ts";
