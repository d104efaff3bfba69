// A plausible mistake: returning the error straight from the catch and never
// closing the descriptor.
// expect-fail: errors-einval /forgetting close/
import { MAP, mapAnonymous, mapFile, MmapError, O, PROT, sys } from "../../../lib/mod.ts";

// ---------------------------------------------------------------- part 1: errno

/**
 * Calls `sys.mmap` and returns the kernel's error, or `undefined` (after
 * unmapping) if the call unexpectedly succeeded.
 */
function kernelAnswer(length: number, prot: number, flags: number, fd: number, offset: number) {
  try {
    const ptr = sys.mmap(null, length, prot, flags, fd, offset);
    sys.munmap(ptr, length);
    return undefined;
  } catch (err) {
    if (err instanceof MmapError) return err;
    throw err;
  }
}

/** `mmap` of length 0 on a valid descriptor: the kernel's answer. */
export function zeroLength(path: string): MmapError | undefined {
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  return kernelAnswer(0, PROT.READ, MAP.SHARED, fd, 0);
}

/** `mmap` at a file offset that is not a multiple of the page size. */
export function unalignedOffset(path: string): MmapError | undefined {
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  try {
    // The offset must be page-aligned because a page of the mapping is a page
    // of the page cache: the kernel cannot map half of one.
    return kernelAnswer(sys.pageSize(), PROT.READ, MAP.SHARED, fd, 100);
  } finally {
    sys.close(fd);
  }
}

/** `PROT_WRITE` with `MAP_SHARED` on a descriptor opened read-only. */
export function writableSharedOnReadOnly(path: string): MmapError | undefined {
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  try {
    // A shared writable mapping writes to the file: the descriptor must allow
    // that. (MAP_PRIVATE would succeed: its writes go to a private copy.)
    return kernelAnswer(sys.pageSize(), PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0);
  } finally {
    sys.close(fd);
  }
}

/** `mmap` of a descriptor that was closed. */
export function closedDescriptor(path: string): MmapError | undefined {
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  sys.close(fd);
  // Everything else is valid, so the only thing wrong is the descriptor.
  return kernelAnswer(sys.pageSize(), PROT.READ, MAP.SHARED, fd, 0);
}

// ---------------------------------------------------------------- part 2: signals

/** Maps the file read-only and writes to it: SIGSEGV. */
export function writeReadOnly(path: string): void {
  const m = mapFile(path); // PROT_READ, MAP_SHARED
  m.bytes[0] = 1; // the page is mapped, but not for writing: SIGSEGV
}

/** Maps a page with the raw layer, unmaps it and touches it again: SIGSEGV. */
export function touchAfterMunmap(): void {
  const ps = sys.pageSize();
  const ptr = sys.mmap(null, ps, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  // A view made by hand: nothing detaches it when the memory goes away.
  const view = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, ps));
  view[0] = 1;
  sys.munmap(ptr, ps);
  view[0] = 2; // nothing is mapped at this address any more: SIGSEGV
}

/** The same through `Mapping`: its view is detached by `unmap()`. Returns the view's length. */
export function touchAfterUnmapSafely(): number {
  const m = mapAnonymous(sys.pageSize());
  const view = m.bytes;
  view[0] = 1;
  m.unmap(); // detaches the ArrayBuffer: the view now has length 0
  view[0] = 2; // out of bounds of a length-0 array: silently ignored, no fault
  return view.length;
}

/** Maps two pages of a file shorter than one page and reads the second: SIGBUS. */
export function touchPastEnd(path: string): number {
  const ps = sys.pageSize();
  const m = mapFile(path, { length: 2 * ps, allowPastEnd: true });
  // Past the end of the file but inside its last page: zeros, no fault.
  const tail = m.bytes[ps - 1];
  // A page wholly past the end: mapped, but no file page behind it. SIGBUS.
  return tail + m.bytes[ps];
}

/** The signal each function above dies of. */
export const PREDICTED_SIGNALS: {
  writeReadOnly: string | undefined;
  touchAfterMunmap: string | undefined;
  touchPastEnd: string | undefined;
} = {
  writeReadOnly: "SIGSEGV", // a mapped page, the wrong access
  touchAfterMunmap: "SIGSEGV", // no mapping at that address at all
  touchPastEnd: "SIGBUS", // a mapping, but no file page to back it
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
 */
export function allocateGuarded(pages: number): GuardedBuffer {
  const ps = sys.pageSize();
  const total = (pages + 2) * ps;
  // One mapping for all of it: the guards are ours, right against the buffer.
  const base = sys.mmap(null, total, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  // mprotect splits the one area into three: ---p | rw-p | ---p.
  sys.mprotect(base, ps, PROT.NONE);
  sys.mprotect(Deno.UnsafePointer.offset(base, (pages + 1) * ps), ps, PROT.NONE);
  let freed = false;
  return {
    address: sys.addressOf(base) + BigInt(ps),
    length: pages * ps,
    free() {
      // Once only: after munmap the range may be handed to someone else.
      if (freed) return;
      freed = true;
      sys.munmap(base, total); // all pages + 2, guards included
    },
  };
}

/** Lines of /proc/PID/maps for one guarded buffer: one area per protection run. */
export const PREDICTED_MAPS_LINES: number | undefined = 3;
