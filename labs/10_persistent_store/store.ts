/**
 * # Lab 10: Capstone: a persistent store on mmap
 *
 * Scenario: an append-only log (think of a small database's journal, or a
 * message queue) kept in ONE mapped file. One writer process appends entries;
 * reader processes follow it while it writes. The writer may be killed at any
 * instant, even in the middle of an append: when it restarts, the log must be
 * valid and hold every entry whose `append` had returned.
 *
 * The format (all numbers little-endian), fixed by the lab: the checker
 * parses your file with its own code.
 *
 * ```
 *  byte 0      4        8        12                      4096
 *  ┌──────────┬────────┬────────┬─────── zeros ──────────┐
 *  │ "MLOG"   │ ver. 1 │  end   │                        │  header: the whole first page
 *  └──────────┴────────┴────────┴────────────────────────┘
 *  4096
 *  ┌────────┬──────────┬────────────────┬─pad─┐┌────────┬──────────┬─── …
 *  │ length │ checksum │ payload        │ to 8││ length │ checksum │ payload …
 *  └────────┴──────────┴────────────────┴─────┘└────────┴──────────┴─── …
 *   u32      u32 FNV-1a  length bytes    align8    next entry
 *
 *  end (i32 at byte 8): the byte offset just past the last COMMITTED entry.
 *  Readers never look past it. A new store has end = 4096.
 * ```
 *
 * Tasks (details in README.md):
 * 1. `Writer` constructor: create the file (64 KiB, with a header) or reopen it.
 * 2. `append`: write the entry past the end, THEN publish the new end.
 * 3. Grow: when an entry does not fit, ftruncate the file bigger and remap.
 * 4. `Reader.poll`: the committed entries not returned yet; remap when the
 *    file has grown.
 * 5. `sync`: msync, for the day the machine (not the process) dies.
 * 6. Predict: `PREDICTED_LOST_AFTER_KILL`.
 *
 * Read: `man 2 mmap` (MAP_SHARED), `man 2 ftruncate`, `man 2 msync`, and in
 * `lib/mapping.ts`: `mapFile`, `resizeFile`, `Mapping.sync`, `Mapping.unmap`.
 *
 * @module
 */

import { mapFile, type Mapping, resizeFile } from "../../lib/mod.ts";

/** "MLOG" read as a little-endian u32: bytes 0–3 of the file. */
export const MAGIC = 0x474f4c4d;
/** Format version: bytes 4–7. */
export const VERSION = 1;
/** The header takes the whole first page; entries start after it. */
export const HEADER_SIZE = 4096;
/** Size of a new store's file: small, it grows as needed. */
export const INITIAL_SIZE = 64 * 1024;
/** Index, in an `Int32Array` over the file, of the committed end (bytes 8–11). */
export const END_INDEX = 2;
/** Each entry starts with its payload length (u32) and checksum (u32). */
export const ENTRY_HEADER = 8;

/**
 * Prediction: a writer appends entries and is killed with SIGKILL; it never
 * called msync. Of the entries whose `append` had returned, how many does a
 * new process find missing? The checker kills a writer three times and shows
 * you what it found.
 */
// TODO: predict (a whole number), before you run the checks.
export const PREDICTED_LOST_AFTER_KILL: number | undefined = undefined;

/** Rounds `n` up to a multiple of 8, so every entry header is aligned. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** FNV-1a, 32 bits: the checksum stored with each entry. */
export function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

/** The single writer of a store. */
export class Writer {
  readonly path: string;
  #mapping: Mapping | undefined;
  #header: Int32Array | undefined;
  #end = HEADER_SIZE;

  /** Opens the store at `path`, creating it if it does not exist (use {@link openWriter}). */
  constructor(path: string) {
    this.path = path;
    // TODO: if the file is missing or shorter than HEADER_SIZE, grow it to
    // INITIAL_SIZE (resizeFile). Map it read-write and shared (mapFile), make
    // an Int32Array over the header, and:
    // - if the header is all zeros, write MAGIC, VERSION and end = HEADER_SIZE;
    // - else if MAGIC or VERSION is wrong, throw;
    // - then go on from the committed end (Atomics.load).
    void fileSize;
    void mapFile;
    void resizeFile;
  }

  /**
   * Appends one entry and commits it: once this returns, every reader sees
   * it, and it survives the writer being killed.
   */
  append(payload: Uint8Array): void {
    // TODO:
    // 1. next = end + ENTRY_HEADER + align8(payload.length); grow if it does not fit.
    // 2. Write length, checksum and payload at the current end (past the committed end).
    // 3. Only then publish: Atomics.store(header, END_INDEX, next).
    void payload;
    void this.#grow;
  }

  /** Grows the file to at least `needed` bytes (doubling) and maps it again. */
  #grow(needed: number): void {
    // TODO: new size = double until >= needed; resizeFile (ftruncate); unmap
    // the old mapping, map the file again, and take new views (the old ones
    // read as length 0 after unmap).
    void needed;
  }

  /** Flushes every appended entry to storage (msync MS_SYNC). */
  sync(): void {
    // TODO: mapping.sync() over the log.
  }

  /** Unmaps the store. */
  close(): void {
    this.#mapping?.unmap();
    void this.#header;
    void this.#end;
  }
}

/** A reader of a store, in any process: follows the writer's commits. */
export class Reader {
  readonly path: string;
  #mapping: Mapping | undefined;
  #cursor = HEADER_SIZE;

  /** Opens an existing store read-only (use {@link openReader}). */
  constructor(path: string) {
    this.path = path;
    // TODO: map the file read-only (shared), check MAGIC and VERSION.
  }

  /**
   * The committed entries this reader has not returned yet, in order, as
   * copies (a view into the mapping would die at the next remap).
   */
  poll(): Uint8Array[] {
    // TODO: end = Atomics.load(header, END_INDEX); if end is past your
    // mapping, the file has grown: map it again. Then read entries from
    // this.#cursor up to end (never past it), copying each payload out
    // (bytes.slice), and move the cursor.
    void this.#cursor;
    return [];
  }

  /** Unmaps the store. */
  close(): void {
    this.#mapping?.unmap();
  }
}

/** Opens (or creates) the store at `path` for appending. One writer at a time. */
export function openWriter(path: string): Writer {
  return new Writer(path);
}

/** Opens the existing store at `path` for reading. */
export function openReader(path: string): Reader {
  return new Reader(path);
}
