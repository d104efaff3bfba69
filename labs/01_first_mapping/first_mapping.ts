/**
 * # Lab 01: First mapping (read-only)
 *
 * Scenario: you are writing a tiny `grep`/`wc` that answers questions about
 * a file — how many lines, where a word occurs, what bytes sit at some offset
 * — without ever calling `read()`. You map the file and look at its bytes
 * right where they are, in memory.
 *
 * Your tasks, top to bottom (each `// TODO:` marks a place to change):
 *
 * 1. `mapWhole`: map a whole file read-only (and cope with an empty one).
 * 2. `countLines` and `findAll`: answer questions from `mapping.bytes`.
 * 3. `readWindow`: map only the pages around a window at any byte offset.
 * 4. Two predictions: what will the kernel show? Fill in the constants at
 *    the bottom first: the checks show what the kernel did only once your
 *    predictions are in.
 *
 * Why it matters: a mapping gives you the file as one big array without
 * copying it into your process first; the kernel brings in each page only
 * when you touch it. That is how databases, search indexes and program
 * loaders read big files.
 *
 * Read: `man 2 mmap` (DESCRIPTION; ERRORS: EINVAL), `man 5 proc` (`/proc/PID/io`),
 * and `mapFile` in `lib/mapping.ts`. The README in this folder explains it all.
 *
 * Run `deno task lab` (or `deno task lab check 1`) and watch the checks.
 *
 * @module
 */

import { mapFile, type Mapping, sys } from "../../lib/mod.ts";

/**
 * Maps the whole file at `path` read-only and returns the mapping, or
 * `undefined` when the file is empty. The caller unmaps it (with
 * `using mapping = mapWhole(path)`, that happens by itself).
 *
 * Do not read any byte here: the checker looks at your process from outside
 * right after this returns.
 */
export function mapWhole(path: string): Mapping | undefined {
  // TODO: an empty file cannot be mapped (mmap of length 0 is EINVAL):
  // return undefined when Deno.statSync(path).size is 0.
  // TODO: otherwise return mapFile(path, { access: "read" }). Delete the lines below.
  void path;
  void mapFile;
  return undefined;
}

/**
 * Counts the lines of the file at `path` the way `wc -l` does: the number of
 * newline bytes (`\n`, the byte 10). An empty file has 0 lines.
 */
export function countLines(path: string): number {
  // TODO: `using mapping = mapWhole(path);` then count the bytes equal to 10
  // in mapping.bytes (return 0 when mapping is undefined).
  void path;
  return 0;
}

/**
 * Every byte offset at which `word` (encoded as UTF-8) starts in the file at
 * `path`, in increasing order (overlapping occurrences included). Offsets
 * count **bytes**, not characters: the files contain multi-byte UTF-8 text
 * such as "café".
 */
export function findAll(path: string, word: string): number[] {
  const needle = new TextEncoder().encode(word);
  // TODO: map the file with mapWhole and compare bytes: record every `at`
  // where mapping.bytes[at + i] === needle[i] for every i. Do not forget an
  // occurrence that ends at the very last byte of the file.
  void path;
  void needle;
  return [];
}

/**
 * The `length` bytes of the file at `path` that start at byte `offset`, as a
 * fresh copy. `offset + length` never goes past the end of the file;
 * `readWindow(path, 0, 0)` of an empty file gives an empty array.
 *
 * Map only the pages that hold the window, with `mapFile`'s `offset` and
 * `length` options. First try passing `offset` as it is, and read the error:
 * mmap's offset must be a multiple of the page size (`sys.pageSize()`).
 */
export function readWindow(path: string, offset: number, length: number): Uint8Array {
  const pageSize = sys.pageSize();
  // TODO: when length is 0, return an empty Uint8Array without mapping anything.
  // TODO: first try `using mapping = mapFile(path, { access: "read", offset, length });`
  // and run the checks: read the error. Then map from base (offset rounded down to a
  // multiple of pageSize) instead, long enough to reach the window's last byte, and
  // skip the offset - base bytes before the window (README task 4 has a picture).
  // TODO: return a copy (slice, not subarray: unmap detaches every view) of the
  // window's bytes.
  void [path, offset, pageSize];
  return new Uint8Array(length);
}

/**
 * Prediction 1. Your `mapWhole` maps a file of exactly 10,000 bytes
 * (`mapping.length` is 10,000). How many bytes of address space does the
 * mapping take, as `/proc/PID/maps` shows it (end address minus start
 * address)?
 */
export const PREDICTED_MAPPED_BYTES: number | undefined = undefined; // TODO: predict

/**
 * Prediction 2. The checker writes a file of a little over 1 MiB (256 to 320
 * pages), so the kernel holds all of it in its page cache, and maps it with
 * your `mapWhole`. Nothing is present yet. Then it reads one byte from a page
 * in the middle. Which pages of the mapping are present in your process
 * afterwards (`/proc/PID/pagemap`)? One of:
 * `"only that page"`, `"that page and some neighbours"`, `"the whole file"`.
 */
export const PREDICTED_AFTER_ONE_READ:
  | "only that page"
  | "that page and some neighbours"
  | "the whole file"
  | undefined = undefined; // TODO: predict
