/**
 * # Lab 06: Protection, errors and faults
 *
 * The kernel says no in three ways, and you will meet each on purpose:
 *
 * 1. **An errno.** The call fails, returns -1 (or `MAP_FAILED`) and sets
 *    `errno`; your process carries on. Here `sys.*` throws an `MmapError`
 *    whose `code` is the errno's name. Use `sys` (the raw layer): `mapFile`
 *    refuses some mistakes itself before the kernel sees them
 *    (`fromKernel === false`), and the point is to hear the kernel.
 * 2. **A signal.** A load or store the mapping does not allow is not a call:
 *    the CPU faults, the kernel cannot make the access work, and sends the
 *    process a signal that kills it (Deno cannot catch SIGSEGV or SIGBUS).
 *    The checker runs each of those functions in its own child process.
 * 3. **A guard page.** A page you make `PROT_NONE` on purpose, so that running
 *    off the end of a buffer dies at the first byte instead of silently
 *    overwriting a neighbour.
 *
 * Read: `man 2 mmap` (ERRORS, and SIGSEGV/SIGBUS under "Use of a mapped
 * region"), `man 2 mprotect`, `man 5 proc` (/proc/PID/maps), and README.md.
 *
 * @module
 */

import { MAP, mapAnonymous, mapFile, MmapError, O, PROT, sys } from "../../lib/mod.ts";

// ---------------------------------------------------------------- part 1: errno
//
// Each function opens `path` (a file of a few pages) with sys.open, makes ONE
// call to sys.mmap that is wrong in exactly the way its name says, catches the
// MmapError and returns it. Close every descriptor you open, on every path.
// If mmap unexpectedly succeeds, munmap and return undefined.

/** `mmap` of length 0 on a valid descriptor: the kernel's answer. */
export function zeroLength(path: string): MmapError | undefined {
  // TODO: sys.open(path, O.RDONLY), sys.mmap(null, 0, PROT.READ, MAP.SHARED, fd, 0),
  // catch and return the MmapError, close the fd in `finally`.
  void path;
  return undefined;
}

/** `mmap` at a file offset that is not a multiple of the page size. */
export function unalignedOffset(path: string): MmapError | undefined {
  // TODO: like zeroLength, with a length of one page and an offset such as 100.
  void path;
  return undefined;
}

/** `PROT_WRITE` with `MAP_SHARED` on a descriptor opened read-only. */
export function writableSharedOnReadOnly(path: string): MmapError | undefined {
  // TODO: open O_RDONLY, ask for PROT.READ | PROT.WRITE with MAP.SHARED.
  void path;
  return undefined;
}

/** `mmap` of a descriptor that was closed. */
export function closedDescriptor(path: string): MmapError | undefined {
  // TODO: open, close, then mmap that descriptor (everything else valid).
  void path;
  return undefined;
}

// ---------------------------------------------------------------- part 2: signals
//
// Each of these must kill the process. Try them yourself in a throw-away
// script and look at the exit status: `echo $?` prints 128 + the signal number.

/** Maps the file read-only and writes one byte to it. */
export function writeReadOnly(path: string): void {
  // TODO: mapFile(path) is PROT_READ; store a byte into its bytes.
  void path;
}

/**
 * Maps a page with the raw layer, makes a view over it by hand, unmaps it
 * and touches the view again.
 */
export function touchAfterMunmap(): void {
  // TODO: const ptr = sys.mmap(null, pageSize, PROT.READ | PROT.WRITE,
  //   MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  // const view = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, pageSize));
  // write to view, sys.munmap(ptr, pageSize), write to view again.
}

/**
 * The same with a `Mapping`: keep `m.bytes`, `m.unmap()`, touch the old view.
 * Returns the view's length after `unmap()`. Must not crash.
 */
export function touchAfterUnmapSafely(): number {
  // TODO: mapAnonymous(sys.pageSize()), keep its bytes, unmap, touch, return the length.
  void mapAnonymous;
  return -1;
}

/**
 * `path` is a file shorter than one page. Map two pages of it and read a
 * byte of the second page. Return what you read (you never will).
 */
export function touchPastEnd(path: string): number {
  // TODO: mapFile(path, { length: 2 * sys.pageSize(), allowPastEnd: true }),
  // read the byte at pageSize - 1 (what is it?), then the byte at pageSize.
  void mapFile;
  void path;
  return 0;
}

/** Predict: the signal each function above dies of ("SIGSEGV", "SIGBUS", …). */
export const PREDICTED_SIGNALS: {
  writeReadOnly: string | undefined;
  touchAfterMunmap: string | undefined;
  touchPastEnd: string | undefined;
} = {
  writeReadOnly: undefined, // TODO: predict
  touchAfterMunmap: undefined, // TODO: predict
  touchPastEnd: undefined, // TODO: predict
};

// ---------------------------------------------------------------- part 3: guard pages

/** A buffer with a PROT_NONE page on each side. */
export interface GuardedBuffer {
  /** The first usable byte (page-aligned). */
  readonly address: bigint;
  /** Usable bytes: `pages × pageSize`. */
  readonly length: number;
  /** Unmaps the buffer and both guards. Calling it again does nothing. */
  free(): void;
}

/**
 * Maps `pages` usable pages between two guard pages that fault on any
 * access, so that running off either end of the buffer kills the process at
 * the first byte instead of corrupting a neighbour.
 *
 * ```
 *  base                base + pageSize                     base + (pages+1)·pageSize
 *  ┌────────────────┬──────────────────────────────────┬────────────────┐
 *  │ guard PROT_NONE│ buffer: `pages` pages, read-write │ guard PROT_NONE│
 *  └────────────────┴──────────────────────────────────┴────────────────┘
 * ```
 */
export function allocateGuarded(pages: number): GuardedBuffer {
  const ps = sys.pageSize();
  // TODO: map (pages + 2) pages read-write in ONE sys.mmap; sys.mprotect the
  // first page and the last page to PROT.NONE; hand out base + one page;
  // free() must munmap all (pages + 2) pages, and only on its first call: by
  // a second call something else may live at that address (a double free).
  // (Deno.UnsafePointer.offset(ptr, bytes) moves a pointer; sys.addressOf(ptr) is its address.)
  const base = sys.mmap(
    null,
    pages * ps,
    PROT.READ | PROT.WRITE,
    MAP.PRIVATE | MAP.ANONYMOUS,
    -1,
    0,
  );
  return {
    address: sys.addressOf(base),
    length: pages * ps,
    free: () => sys.munmap(base, pages * ps),
  };
}

/**
 * Predict: how many lines of /proc/PID/maps cover one guarded buffer with
 * its two guards?
 */
export const PREDICTED_MAPS_LINES: number | undefined = undefined; // TODO: predict

// Used by the TODOs above; delete these lines when you use them.
void MmapError;
void O;
