// A plausible mistake: both writes first, then both msyncs in the right order.
// The pages synced are right, but the marker sat dirty in memory before the data
// was durable: writeback could have put it on disk first.
// expect-fail: marker-after-data /marker was written before the data's msync/
import type { Mapping } from "../../../lib/mod.ts";

/** Size of the commit marker at the start of page 0. */
export const MARKER_BYTES = 16;

/** FNV-1a, 32 bits: a small checksum of the data, so a reader can tell torn data. */
export function checksum(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/**
 * The commit marker: four little-endian u32s, `sequence`, `offset`,
 * `length`, `checksum(data)`. Given, not a task.
 */
export function encodeMarker(sequence: number, offset: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(MARKER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, sequence, true);
  view.setUint32(4, offset, true);
  view.setUint32(8, data.length, true);
  view.setUint32(12, checksum(data), true);
  return out;
}

/**
 * The whole pages that hold the bytes `[offset, offset + length)`: the start
 * rounded down and the end rounded up to a multiple of `pageSize`.
 * `length` is at least 1.
 *
 * @example
 * ```ts
 * pageSpan(5000, 4000, 4096); // { offset: 4096, length: 8192 }: bytes 5000..8999 touch pages 1 and 2
 * ```
 */
export function pageSpan(
  offset: number,
  length: number,
  pageSize: number,
): { offset: number; length: number } {
  // msync wants a page-aligned address (EINVAL otherwise) and works on whole
  // pages. Math.ceil leaves an end that is already aligned where it is: a
  // range ending exactly at a page boundary does not touch the next page.
  const start = Math.floor(offset / pageSize) * pageSize;
  const end = Math.ceil((offset + length) / pageSize) * pageSize;
  return { offset: start, length: end - start };
}

/**
 * Makes an update durable: `data` at byte `offset` of the log (past page 0),
 * then the commit marker for it at byte 0, each synced with `MS_SYNC`, in
 * that order, and no page more than needed.
 */
export function commitUpdate(
  log: Mapping,
  offset: number,
  data: Uint8Array,
  sequence: number,
): void {
  // 1. The data, through memory: every other process sees it now, but it is
  //    only in the page cache. Nothing points at it yet, so a crash here is
  //    harmless: the old marker still describes the old, complete commit.
  log.bytes.set(data, offset);
  log.bytes.set(encodeMarker(sequence, offset, data), 0);
  log.sync(pageSpan(offset, data.length, log.pageSize));
  log.sync({ offset: 0, length: log.pageSize });
}

// ---------------------------------------------------------------- predictions

/** Re-writing a page that msync(MS_SYNC) cleaned: writeback write-protected it, so one fault. */
export const PREDICTED_REWRITE_FAULTS_SYNCED: number | undefined = 1;

/** Re-writing a page that is still dirty: it is mapped writable already, no fault. */
export const PREDICTED_REWRITE_FAULTS_DIRTY: number | undefined = 0;

/** MS_ASYNC is a no-op on Linux since 2.6.19: the pages stay dirty. */
export const PREDICTED_ASYNC_CLEANS_PAGES: boolean | undefined = false;

/** MS_INVALIDATE does not throw away unsynced writes: MAP_SHARED pages *are* the cache. */
export const PREDICTED_INVALIDATE_DROPS_WRITES: boolean | undefined = false;

/** msync at an address that is not a multiple of the page size. */
export const PREDICTED_UNALIGNED_MSYNC: string | undefined = "EINVAL";

/** The page cache belongs to the kernel: a killed process loses nothing it stored there. */
export const PREDICTED_KILL_LOSES_WRITES: boolean | undefined = false;
