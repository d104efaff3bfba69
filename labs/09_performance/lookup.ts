/**
 * # Lab 09: Performance: when mmap wins
 *
 * Scenario: a 16 MiB file holds half a million records sorted by key, and a
 * service answers "what is the value for key K?" all day long. Reading the
 * whole file into memory for each question is absurd; reading it once keeps
 * 16 MiB per process. With a mapping, the file *is* memory: a binary search
 * touches a few pages, and the kernel brings in only those.
 *
 * The file: records of 32 bytes, sorted by key, no header.
 *
 * ```
 *  byte 0        8                               32
 *       ┌────────┬───────────────────────────────┐
 *       │  key   │ value: 24 ASCII bytes         │  record 0
 *       ├────────┼───────────────────────────────┤
 *       │  key   │ value                         │  record 1   (128 records per 4 KiB page)
 *       └────────┴───────────────────────────────┘
 *  key: unsigned 64-bit little-endian (a bigint); keys are unique and ascending
 * ```
 *
 * Tasks (details in README.md):
 * 1. `Table` constructor: map the file read-only and advise the kernel that
 *    access will be random (`MADV_RANDOM`).
 * 2. `lookup(key)`: a binary search through the mapping.
 * 3. `close()`: unmap.
 * 4. Predict: `PREDICTED_PAGES_PER_LOOKUP`.
 *
 * Read: `man 2 mmap`, `man 2 madvise` (MADV_RANDOM, MADV_SEQUENTIAL),
 * `man 2 mincore`, and `Mapping.advise` in `lib/mapping.ts`.
 *
 * The checker empties the page cache of the file before each measured lookup
 * and counts, with mincore(2), the pages your lookup made the kernel read.
 *
 * @module
 */

import { mapFile, type Mapping } from "../../lib/mod.ts";

/** Bytes per record: an 8-byte key, then a 24-byte value. */
export const RECORD_SIZE = 32;
/** Bytes of the key at the start of each record (unsigned 64-bit, little-endian). */
export const KEY_SIZE = 8;
/** Bytes of the value after the key (ASCII). */
export const VALUE_SIZE = 24;

/**
 * Prediction: one cold lookup (nothing of the file in the page cache) in a
 * table of exactly 4096 pages (16 MiB, 524,288 records), with `MADV_RANDOM`:
 * how many pages of the file does the kernel read from disk? The checker
 * measures it in the same run and shows you both numbers.
 */
// TODO: predict (a whole number), before you run the checks.
export const PREDICTED_PAGES_PER_LOOKUP: number | undefined = undefined;

const decoder = new TextDecoder();

/** A sorted-record file opened for lookups. */
export class Table {
  /** Number of records in the file. */
  readonly count: number;
  #mapping: Mapping | undefined;
  #view: DataView | undefined;

  /** Maps the file at `path` read-only (use {@link openTable}). */
  constructor(path: string) {
    const size = Deno.statSync(path).size;
    this.count = Math.floor(size / RECORD_SIZE);
    // TODO: unless the file is empty (mmap of length 0 is EINVAL), map it
    // read-only with mapFile, advise "random" (mapping.advise), and keep a
    // DataView over mapping.bytes in this.#view.
    void mapFile;
    void this.#mapping;
  }

  /**
   * The value stored under `key`, or `undefined` if the table has no such
   * key. Must read only the records a binary search probes.
   */
  lookup(key: bigint): string | undefined {
    // TODO: binary search over records 0 … count-1. The key of record i is
    //   this.#view.getBigUint64(i * RECORD_SIZE, true)
    // and its value is the VALUE_SIZE bytes after the key, decoded with
    //   decoder.decode(mapping.bytes.subarray(start, start + VALUE_SIZE)).
    void key;
    void decoder;
    void this.#view;
    return undefined;
  }

  /** Unmaps the file. Lookups after this return `undefined`. */
  close(): void {
    // TODO: unmap the mapping (if any) and forget the views.
  }
}

/**
 * Opens the sorted-record file at `path` for lookups: maps it read-only and
 * advises the kernel that access will be random.
 */
export function openTable(path: string): Table {
  return new Table(path);
}
