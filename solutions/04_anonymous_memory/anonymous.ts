/**
 * # Lab 04: Anonymous memory (reference solution)
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
  // mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0). The kernel
  // only reserves addresses: a page is allocated, already zeroed, at its first write.
  // Filling it with zeros yourself would touch (and so allocate) every page.
  return mapAnonymous(size);
}

/**
 * Gives pages `first` to `first + count - 1` of `memory` back to the kernel
 * (page 0 is the first `memory.pageSize` bytes). On private anonymous memory
 * they read as zeros afterwards, and no longer count in the process's RSS.
 */
export function release(memory: Mapping, first: number, count: number): void {
  // MADV_DONTNEED: the kernel frees the pages and unmaps them; the next touch
  // faults in a zero page again. Writing zeros instead would keep every page.
  memory.discard({ offset: first * memory.pageSize, length: count * memory.pageSize });
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
  // A memfd is a file that lives in RAM (tmpfs) with no name in any directory.
  const fd = sys.memfdCreate("lab04");
  try {
    // It starts empty: mapping (or touching) past its end would fail (SIGBUS).
    sys.ftruncate(fd, size);
    const memory = mapDescriptor(fd, { access: "readwrite" }); // MAP_SHARED
    // /proc/self/fd/N would mean "the opener's own descriptor N" to whoever
    // opens it: another process needs this process's pid.
    return { memory, fd, path: `/proc/${Deno.pid}/fd/${fd}` };
  } catch (err) {
    sys.close(fd);
    throw err;
  }
}

/**
 * Maps, shared and read-write, the shared memory another process created and
 * published as `path`. Writes through it are seen by that process.
 */
export function attachShared(path: string): Mapping {
  // Opening /proc/<pid>/fd/<n> opens the same memfd (it needs the same user).
  // MAP_SHARED: stores go into the memfd's pages, which the creator maps too.
  return mapFile(path, { access: "readwrite" });
}

/**
 * Lets go of shared memory made by {@link createShared}: afterwards this
 * process holds neither a mapping of it nor a descriptor to it.
 */
export function closeShared(region: SharedRegion): void {
  // The memfd lives as long as any mapping or descriptor refers to it, in any
  // process. Both must go; when the last user lets go, the RAM is freed.
  region.memory.unmap();
  sys.close(region.fd);
}

// No page table entry exists until a page is touched: the first read of each
// page faults, and the kernel maps a page there (the shared zero page, or on
// some kernels a zeroed page of the process's own). No fault-around for
// anonymous memory: one fault per page.
export const PREDICTED_FAULTS_WHEN_READING: "none" | "one" | "one per page" | undefined =
  "one per page";

// MADV_DONTNEED on a shared mapping only unmaps the pages from this process:
// the data lives on in the memfd (and in every other mapping of it), and the
// next touch maps the same page again.
export const PREDICTED_SHARED_AFTER_RELEASE: "zeros" | "data" | undefined = "data";
