/**
 * # Lab 04: Anonymous memory
 *
 * Scenario: a program needs memory that is not a file. Two kinds:
 *
 * - **scratch memory** of its own (what `malloc` and every language runtime
 *   get from the kernel for big buffers): private anonymous memory, zero-filled,
 *   paid for only as pages are touched, and handed back page by page when no
 *   longer needed;
 * - **shared memory** with another process, with no file on disk: a
 *   `memfd_create(2)` file, which lives in RAM and is gone once the last
 *   process using it lets go.
 *
 * Your tasks (the README explains each):
 * 1. `allocate(size)`: private anonymous memory.
 * 2. `release(memory, first, count)`: give pages back (`MADV_DONTNEED`).
 * 3. `createShared(size)`: a memfd, sized and mapped shared, and the path
 *    another process opens to reach it.
 * 4. `attachShared(path)`: map shared memory another process made.
 * 5. `closeShared(region)`: let go of it: the mapping and the descriptor.
 * 6. Predict what the kernel will do (the `PREDICTED_…` constants at the end).
 *
 * Read: `man 2 mmap` (MAP_ANONYMOUS), `man 2 madvise` (MADV_DONTNEED),
 * `man 2 memfd_create`, `man 5 proc` (/proc/pid/fd), and `mapAnonymous`,
 * `mapDescriptor`, `mapFile`, `Mapping.discard` in `lib/mapping.ts`.
 *
 * The checker reads `/proc/<pid>/pagemap`, `smaps`, `maps` and `fdinfo` of
 * the processes running your code, and maps your shared memory itself.
 * `deno task lab show 04` draws your pages.
 *
 * @module
 */

import { mapAnonymous, mapDescriptor, mapFile, type Mapping, sys } from "../../lib/mod.ts";

/**
 * Allocates `size` bytes of private, zero-filled memory that belongs to no
 * file. No page of it may be in RAM before it is touched.
 *
 * @returns the mapping; the caller unmaps it
 */
export function allocate(size: number): Mapping {
  // TODO: private anonymous memory: mapAnonymous(size). Nothing else: it is
  // already zero-filled, and it must not be pre-faulted.
  void mapAnonymous;
  throw new Error(`allocate(${size}) is not written yet: see the TODO in anonymous.ts`);
}

/**
 * Gives pages `first` to `first + count - 1` of `memory` back to the kernel
 * (page 0 is the first `memory.pageSize` bytes). On private anonymous memory
 * they read as zeros afterwards, and no longer count in the process's RSS.
 */
export function release(memory: Mapping, first: number, count: number): void {
  // TODO: memory.discard({ offset, length }) (MADV_DONTNEED) on exactly those pages.
  void memory;
  void first;
  void count;
}

/** Shared memory made by {@link createShared}. */
export interface SharedRegion {
  /** This process's shared mapping of the memory. */
  memory: Mapping;
  /** The memfd's descriptor in this process. */
  fd: number;
  /** The path another process opens (or maps) to reach the same memory. */
  path: string;
}

/**
 * Creates `size` bytes of shared memory with no file on disk, mapped shared
 * and read-write in this process, that another process can map by its path
 * while this process keeps it open.
 */
export function createShared(size: number): SharedRegion {
  // TODO:
  // 1. const fd = sys.memfdCreate("lab04"): a new, empty file in RAM.
  // 2. give it its size: sys.ftruncate(fd, size).
  // 3. map it shared and writable: mapDescriptor(fd, { access: "readwrite" }).
  // 4. the path: this process's descriptor as /proc/<pid>/fd/<fd>. Which pid?
  void sys;
  void mapDescriptor;
  throw new Error(`createShared(${size}) is not written yet: see the TODO in anonymous.ts`);
}

/**
 * Maps, shared and read-write, the shared memory another process created and
 * published as `path`. Writes through it are seen by that process.
 */
export function attachShared(path: string): Mapping {
  // TODO: map the path like a file: shared (the default mode) and read-write.
  void mapFile;
  throw new Error(`attachShared(${path}) is not written yet: see the TODO in anonymous.ts`);
}

/**
 * Lets go of shared memory made by {@link createShared}: afterwards this
 * process holds neither a mapping of it nor a descriptor to it.
 */
export function closeShared(region: SharedRegion): void {
  // TODO: unmap region.memory and close region.fd (sys.close).
  void region;
}

// ---------------------------------------------------------------------------
// Predict, then observe. Replace each `undefined` with your prediction before
// running the checks; the checker compares it with what the kernel did.

/**
 * The checker allocates a few dozen pages with your `allocate()` and reads one
 * byte of each page (all zeros). How many page faults does reading them cost:
 * `"none"` (the memory is known to be zeros), `"one"` (the first touch sets up
 * the whole mapping) or `"one per page"`?
 */
export const PREDICTED_FAULTS_WHEN_READING: "none" | "one" | "one per page" | undefined = undefined; // TODO: predict

/**
 * Another process maps your shared memory with `attachShared`, writes data
 * into it, then calls your `release()` on its whole mapping. What does it
 * read there afterwards: `"zeros"` or `"data"` (what was written)?
 */
export const PREDICTED_SHARED_AFTER_RELEASE: "zeros" | "data" | undefined = undefined; // TODO: predict
