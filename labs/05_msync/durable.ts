/**
 * # Lab 05: msync and durable updates
 *
 * A log file, already mapped for you with `MAP_SHARED`, read-write:
 *
 * ```
 *  page 0              page 1 … page N-1
 *  ┌──────────────┬───┬──────────────────────────────┐
 *  │ marker (16 B)│   │ data                         │
 *  └──────────────┴───┴──────────────────────────────┘
 * ```
 *
 * An update writes some bytes into the data pages and then a *commit marker*
 * into page 0 that says "sequence S: `length` bytes at `offset`, checksum C".
 * After a power cut, recovery trusts the marker. So the marker must never
 * reach the disk before the data it describes.
 *
 * Stores into a shared mapping reach the **page cache** at once (every other
 * process sees them) and the **disk** whenever the kernel gets round to it,
 * in whatever order it likes. `msync(MS_SYNC)` is how you say "these pages,
 * on disk, now, and wait until they are".
 *
 * Your tasks (the checks say which is which):
 * 1. `pageSpan`: round a byte range out to whole pages.
 * 2. `commitUpdate`: data → msync of exactly its pages → marker → msync of page 0.
 * 3. The `PREDICTED_*` constants at the bottom: predict, then run the checks and compare.
 *
 * Read: `man 2 msync` (and its NOTES), `Mapping.sync` in `lib/mapping.ts`,
 * and the lesson in README.md.
 *
 * @module
 */

import type { Mapping } from "../../lib/mod.ts";

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
  // TODO: round `offset` down and `offset + length` up to multiples of
  // `pageSize`; return the rounded start and the length between them.
  // Careful with an end that is already a multiple of the page size.
  void pageSize;
  return { offset, length };
}

/**
 * Makes an update durable: `data` at byte `offset` of the log (past page 0),
 * then the commit marker for it at byte 0, each synced with `MS_SYNC`, in
 * that order, and no page more than needed.
 *
 * `log.bytes` is the file's memory; `log.sync({ offset, length })` is
 * `msync(MS_SYNC)` of that range, rounded out to whole pages (`log.sync()`
 * with no range is the whole mapping: too much here); `log.pageSize` is the
 * page size.
 */
export function commitUpdate(
  log: Mapping,
  offset: number,
  data: Uint8Array,
  sequence: number,
): void {
  // TODO 1: write `data` into `log.bytes` at `offset`.
  // TODO 2: msync (MS_SYNC) exactly the pages the data touches: use pageSpan.
  // TODO 3: only then, write encodeMarker(sequence, offset, data) at offset 0.
  // TODO 4: msync (MS_SYNC) page 0.
  void log;
  void offset;
  void data;
  void sequence;
}

// ---------------------------------------------------------------- predictions
//
// Predict before you run the checks; the checker shows what the kernel did.

/**
 * Every page of the log is dirty; `commitUpdate` syncs some of them. Then
 * each page is written once more. How many page faults does re-writing one
 * *synced* page cost?
 */
export const PREDICTED_REWRITE_FAULTS_SYNCED: number | undefined = undefined; // TODO: predict

/** …and one page that was *not* synced (still dirty)? */
export const PREDICTED_REWRITE_FAULTS_DIRTY: number | undefined = undefined; // TODO: predict

/** Does `msync(MS_ASYNC)` make dirty pages clean (in smaps) by the time it returns? */
export const PREDICTED_ASYNC_CLEANS_PAGES: boolean | undefined = undefined; // TODO: predict

/**
 * You store new bytes into a shared mapping, do not sync, and call
 * `msync(MS_ASYNC | MS_INVALIDATE)`. Are your new bytes thrown away (the
 * mapping and the file show the old ones again)?
 */
export const PREDICTED_INVALIDATE_DROPS_WRITES: boolean | undefined = undefined; // TODO: predict

/**
 * `msync(address + 100, pageSize, MS_SYNC)` where `address` is a mapping's
 * start: the errno name it fails with, or `"ok"` if it succeeds.
 */
export const PREDICTED_UNALIGNED_MSYNC: string | undefined = undefined; // TODO: predict

/**
 * A process stores bytes into a shared file mapping, never calls msync, and
 * is killed with SIGKILL. Are the bytes lost from the file?
 */
export const PREDICTED_KILL_LOSES_WRITES: boolean | undefined = undefined; // TODO: predict
