/**
 * Instructor helpers for lab 09, used by the drive in the child: empty the
 * page cache of a file, count its pages in the cache (mincore), find the
 * student's mapping of it, and count the pages mapped there (pagemap).
 * Nothing here shows up in the student's call record.
 *
 * @module
 */

import {
  FADV,
  mapFile,
  type Mapping,
  O,
  pagemap,
  procMaps,
  sys,
  withoutRecording,
} from "../../../lib/checker/mod.ts";

/**
 * Drops the file's clean, unmapped pages from the page cache
 * (`posix_fadvise(POSIX_FADV_DONTNEED)`). Pages still mapped somewhere stay.
 */
export function evict(path: string): void {
  withoutRecording(() => {
    const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
    try {
      sys.fadvise(fd, 0, 0, FADV.DONTNEED);
    } finally {
      sys.close(fd);
    }
  });
}

/**
 * A mapping of the whole file that is never touched: its only use is
 * `mincore`, which tells how many of the file's pages are in the page cache
 * (whoever brought them there) without faulting any in.
 */
export class CacheProbe {
  readonly mapping: Mapping;
  constructor(readonly path: string) {
    this.mapping = withoutRecording(() => mapFile(path));
  }
  /** Pages of the file in the page cache now. */
  resident(): number {
    return withoutRecording(() => this.mapping.residency()).filter(Boolean).length;
  }
  /** Unmaps the probe. */
  close(): void {
    withoutRecording(() => this.mapping.unmap());
  }
}

/** A mapping of `path` in this process other than `exclude` (the probe), from /proc/self/maps. */
export function findMapping(
  path: string,
  exclude: bigint,
): { start: bigint; end: bigint } | undefined {
  const real = Deno.realPathSync(path);
  return procMaps("self").find((e) => e.path === real && e.start !== exclude);
}

/** Gives `advice` (an MADV value) to a mapping found with {@link findMapping}. */
export function forceAdvice(area: { start: bigint; end: bigint }, advice: number): void {
  withoutRecording(() =>
    sys.madvise(sys.pointerAt(area.start), Number(area.end - area.start), advice)
  );
}

/**
 * Pages of an area mapped in this process now, and the fault-around windows
 * of `window` pages (this kernel's, from its profile) they fall in.
 */
export function mappedPages(area: { start: bigint; end: bigint }, window: number): {
  present: number;
  windows: number;
} {
  const pageSize = BigInt(sys.pageSize());
  const first = area.start / pageSize;
  const pages = Number((area.end - area.start) / pageSize);
  const windows = new Set<bigint>();
  let present = 0;
  pagemap(area.start, pages).forEach((p, i) => {
    if (!p.present) return;
    present++;
    windows.add((first + BigInt(i)) / BigInt(window));
  });
  return { present, windows: windows.size };
}
