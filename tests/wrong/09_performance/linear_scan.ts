// A plausible mistake: a linear scan. Right answers, but a lookup reads the
// file from the start up to the key: the cost grows like n, not log n.
// expect-fail: log-pages /linear scan/
import { mapFile, type Mapping } from "../../../lib/mod.ts";

/** Bytes per record: an 8-byte key, then a 24-byte value. */
export const RECORD_SIZE = 32;
/** Bytes of the key at the start of each record (unsigned 64-bit, little-endian). */
export const KEY_SIZE = 8;
/** Bytes of the value after the key (ASCII). */
export const VALUE_SIZE = 24;

/**
 * Prediction: one cold lookup (nothing of the file in the page cache) in a
 * table of exactly 4096 pages (16 MiB, 524,288 records), with `MADV_RANDOM`:
 * how many pages of the file does the kernel read from disk?
 *
 * A binary search halves the range at each probe: 19 probes for 2^19 records.
 * But 128 records share a page, so once the range fits in one page the last
 * 7 probes cost nothing more: log2(4096) = 12 pages. `MADV_RANDOM` turns off
 * read-around, so the kernel reads exactly those pages and no neighbours.
 */
export const PREDICTED_PAGES_PER_LOOKUP: number | undefined = 12;

const decoder = new TextDecoder();

/** A sorted-record file opened for lookups. */
export class Table {
  /** Number of records in the file. */
  readonly count: number;
  #mapping: Mapping | undefined;
  #view: DataView | undefined;
  #bytes: Uint8Array | undefined;

  /** Maps the file at `path` read-only (use {@link openTable}). */
  constructor(path: string) {
    const size = Deno.statSync(path).size;
    this.count = Math.floor(size / RECORD_SIZE);
    // An empty file cannot be mapped (mmap of length 0 is EINVAL): nothing to
    // look up, so no mapping at all.
    if (this.count === 0) return;
    // Read-only and shared: we never write, and every process looking up in
    // the same file shares the same page-cache pages.
    this.#mapping = mapFile(path, { access: "read" });
    // MADV_RANDOM: "I will jump around". The kernel then reads only the page
    // a fault needs, instead of a read-around window of neighbours (up to
    // read_ahead_kb, often 128 KiB, here 8 MiB!) that a binary search would
    // never look at. VmFlags in /proc/PID/smaps shows it as "rr".
    this.#mapping.advise("random");
    this.#bytes = this.#mapping.bytes;
    // A DataView over the mapped memory: reading it reads the file's pages,
    // faulting each one in on first touch. No copy, no read().
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
  }

  /** The key of record `i`. */
  #keyAt(i: number): bigint {
    return this.#view!.getBigUint64(i * RECORD_SIZE, true);
  }

  /**
   * The value stored under `key`, or `undefined` if the table has no such
   * key. A binary search: about log2(count) probes, each one reading a single
   * key, so only the pages holding those keys are touched.
   */
  lookup(key: bigint): string | undefined {
    if (this.#view === undefined) return undefined;
    for (let i = 0; i < this.count; i++) {
      if (this.#keyAt(i) === key) {
        const start = i * RECORD_SIZE + KEY_SIZE;
        return decoder.decode(this.#bytes!.subarray(start, start + VALUE_SIZE));
      }
    }
    return undefined;
  }

  /** Unmaps the file. Lookups after this return `undefined`. */
  close(): void {
    this.#mapping?.unmap(); // munmap: the views above now read as length 0
    this.#mapping = undefined;
    this.#view = undefined;
    this.#bytes = undefined;
  }
}

/**
 * Opens the sorted-record file at `path` for lookups: maps it read-only and
 * advises the kernel that access will be random.
 */
export function openTable(path: string): Table {
  return new Table(path);
}
