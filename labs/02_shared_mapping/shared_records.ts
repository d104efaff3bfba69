/**
 * # Lab 02: Shared file mapping
 *
 * Scenario: a warehouse keeps its stock in `stock.db`, an array of 32-byte
 * records (article number, units in stock, name). Your program updates the
 * counts in place, and adds new articles at the end, through one MAP_SHARED
 * mapping: no `write()`, no `msync()`. A report tool in another process reads
 * the same file with `read()`. When does it see your updates? (Prediction 1.)
 *
 * Your tasks, top to bottom (each `// TODO:` marks a place to change):
 *
 * 1. `openTable`: map the whole file shared and read-write.
 * 2. `updateRecord`: overwrite one record in place, through the mapping.
 * 3. `appendRecords`: grow the file with ftruncate, map it again, add records.
 * 4. `crashPastEnd`: see what happens when you skip the ftruncate (a crash).
 * 5. Two predictions at the bottom: what will the kernel do? Fill them in
 *    first: the checks that show what the kernel did wait for them.
 *
 * `encodeItem` and `decodeItem` are written for you: they turn an `Item`
 * into its 32 bytes and back.
 *
 * Read: `man 2 mmap` (MAP_SHARED; the signals paragraph after ERRORS), `man 2 ftruncate`,
 * `man 2 msync`, and `mapFile`/`resizeFile` in `lib/mapping.ts`. The
 * README in this folder explains it all.
 *
 * @module
 */

import { mapFile, type Mapping, resizeFile, sys } from "../../lib/mod.ts";

/** Size of one record in bytes. */
export const RECORD_SIZE = 32;

/** Longest name that fits in a record, in UTF-8 bytes. */
export const NAME_BYTES = 24;

/** One line of stock: an article number, how many are in stock, and a short name. */
export interface Item {
  /** Article number, 0 to 2^32 - 1. */
  id: number;
  /** Units in stock (may be negative: back-ordered). */
  count: number;
  /** At most 24 bytes of UTF-8. */
  name: string;
}

/**
 * The 32 bytes of a record: `id` (u32, little-endian) at 0, `count` (i32,
 * little-endian) at 4, `name` (UTF-8, zero-padded) at 8. Given: no TODO here.
 */
export function encodeItem(item: Item): Uint8Array {
  const out = new Uint8Array(RECORD_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, item.id, true);
  view.setInt32(4, item.count, true);
  const name = new TextEncoder().encode(item.name);
  if (name.length > NAME_BYTES) throw new RangeError(`name longer than ${NAME_BYTES} bytes`);
  out.set(name, 8);
  return out;
}

/** The item stored in a record's 32 bytes (the inverse of {@link encodeItem}). Given. */
export function decodeItem(bytes: Uint8Array): Item {
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_SIZE);
  const name = bytes.subarray(8, RECORD_SIZE);
  const end = name.indexOf(0);
  return {
    id: view.getUint32(0, true),
    count: view.getInt32(4, true),
    name: new TextDecoder().decode(end === -1 ? name : name.subarray(0, end)),
  };
}

/**
 * Maps the whole stock file shared and read-write, so that stores into
 * `table.bytes` reach the file. The caller unmaps it.
 */
export function openTable(path: string): Mapping {
  // TODO: return mapFile(path, { access: "readwrite" }). The default mode is
  // "shared" (MAP_SHARED); "private" would keep every store to yourself.
  // Delete the line below.
  return mapFile(path, { access: "read" });
}

/**
 * Overwrites record number `index` (from 0) with `item`, in place, through
 * the mapping. Throws a RangeError if there is no such record.
 *
 * Do not call msync, and do not unmap: the checker reads the file from
 * another process right after your updates, while `table` is still mapped.
 */
export function updateRecord(table: Mapping, index: number, item: Item): void {
  // TODO: record `index` occupies bytes [index * RECORD_SIZE, (index + 1) * RECORD_SIZE).
  // Copy encodeItem(item) there: table.bytes.set(bytes, at). Throw a RangeError
  // when that range is not inside the table (set already throws one when the
  // bytes do not fit).
  void table;
  void index;
  void encodeItem(item);
}

/**
 * Appends `items` after the last record and returns a mapping of the whole,
 * grown file. `table` (the current mapping) is unmapped.
 *
 * A mapping never grows with its file, and touching a page of a mapping
 * that lies wholly past the end of the file kills the process. So: grow the
 * file first, then map it again.
 */
export function appendRecords(path: string, table: Mapping, items: Item[]): Mapping {
  const oldCount = table.length / RECORD_SIZE;
  // TODO: newSize = (oldCount + items.length) * RECORD_SIZE.
  // TODO: table.unmap(); resizeFile(path, newSize) (that is ftruncate).
  // TODO: map the grown file (openTable), and store each item i at record oldCount + i.
  // TODO: return the new mapping. Delete the lines below.
  void [path, oldCount, resizeFile, items];
  return table;
}

/**
 * A demonstration that ends with a crash, on purpose: maps the file at
 * `path` one page further than its last page, and stores a byte in that
 * extra page. The kernel kills the process with a signal (the checker runs
 * this in a child process of its own, and reports which, once your
 * PREDICTED_SIGNAL is in).
 *
 * Be careful where you store: a byte just after the end of the file is
 * usually still inside the file's last page.
 */
export function crashPastEnd(path: string): void {
  const size = Deno.statSync(path).size;
  const pageSize = sys.pageSize();
  // TODO: pastEnd = the first byte of the first page wholly past the end of the
  // file. Not `size`: that byte is usually still in the last page (see the
  // picture in the README). Which multiple of pageSize is it?
  // TODO: map pastEnd + pageSize bytes: mapFile(path, { access: "readwrite",
  // length: pastEnd + pageSize, allowPastEnd: true }) (mapFile refuses it otherwise).
  // TODO: store a byte at mapping.bytes[pastEnd].
  void size;
  void pageSize;
}

/**
 * Prediction 1: while your process still has the file mapped, and before
 * any msync, another process reads the file with read(). Does it see the
 * record you just stored? `true` or `false`.
 */
export const PREDICTED_SEEN_BEFORE_MSYNC: boolean | undefined = undefined; // TODO: predict

/**
 * Prediction 2: the name of the signal that kills a process storing a byte
 * into a page of a mapping that lies wholly past the end of the file, e.g.
 * `"SIGSEGV"`, `"SIGBUS"`, `"SIGFPE"`, `"SIGILL"`…
 */
export const PREDICTED_SIGNAL: string | undefined = undefined; // TODO: predict
