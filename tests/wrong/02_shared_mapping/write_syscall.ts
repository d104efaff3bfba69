// A plausible mistake: updating and appending with write() on the file instead of storing
// into the mapping. The file ends up right; /proc/PID/io says how.
// expect-fail: no-write /write\(\) instead of the mapping/
import { mapFile, type Mapping, resizeFile, sys } from "../../../lib/mod.ts";

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
 * little-endian) at 4, `name` (UTF-8, zero-padded) at 8.
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

/** The item stored in a record's 32 bytes (the inverse of {@link encodeItem}). */
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
  // access "readwrite" opens the file O_RDWR and maps it PROT_READ|PROT_WRITE;
  // mode "shared" (the default) is MAP_SHARED: our pages are the page cache's.
  return mapFile(path, { access: "readwrite", mode: "shared" });
}

/** Overwrites record number `index` (from 0) with `item`, in place, through the mapping. */
export function updateRecord(table: Mapping, index: number, item: Item): void {
  const at = index * RECORD_SIZE;
  if (!Number.isInteger(index) || index < 0 || at + RECORD_SIZE > table.length) {
    throw new RangeError(
      `record ${index} is outside the table (${table.length / RECORD_SIZE} records)`,
    );
  }
  // One store of 32 bytes into the page cache: every reader of the file sees
  // it from now on. msync would only force it to the disk sooner.
  using file = Deno.openSync(table.source.path!, { write: true });
  file.seekSync(at, Deno.SeekMode.Start);
  file.writeSync(encodeItem(item));
}

/**
 * Appends `items` after the last record: grows the file first, then maps it
 * again (the old mapping does not grow with the file), writes the new
 * records, and returns the new mapping. `table` is unmapped.
 */
export function appendRecords(path: string, table: Mapping, items: Item[]): Mapping {
  const oldCount = table.length / RECORD_SIZE;
  const newSize = (oldCount + items.length) * RECORD_SIZE;
  // The old mapping covers the old size only, and a mapping never grows by
  // itself: let it go (munmap) and map the grown file again.
  table.unmap();
  void newSize;
  void resizeFile;
  const bytes = new Uint8Array(items.length * RECORD_SIZE);
  items.forEach((item, i) => bytes.set(encodeItem(item), i * RECORD_SIZE));
  Deno.writeFileSync(path, bytes, { append: true });
  return mapFile(path, { access: "readwrite" });
}

/**
 * Shows what happens without ftruncate: maps the file one page past the
 * page that holds its end, and stores a byte in that page. This never
 * returns: the kernel kills the process with SIGBUS. (The checker runs it in
 * a child process of its own.)
 */
export function crashPastEnd(path: string): void {
  const size = Deno.statSync(path).size;
  const pageSize = sys.pageSize();
  // The first byte of the first page that is *wholly* past the end of the
  // file. Bytes between `size` and here share the file's last page: they read
  // as zero, a store there is silently dropped, and nothing crashes.
  const pastEnd = Math.ceil(size / pageSize) * pageSize;
  const mapping = mapFile(path, {
    access: "readwrite",
    length: pastEnd + pageSize,
    allowPastEnd: true,
  });
  mapping.bytes[pastEnd] = 1; // no page of the file here: SIGBUS
  mapping.unmap(); // never reached
}

/**
 * Prediction 1: while your process still has the file mapped, and before
 * any msync, does another process that reads the file see the record you
 * just stored?
 */
export const PREDICTED_SEEN_BEFORE_MSYNC: boolean | undefined = true;

/**
 * Prediction 2: the name of the signal that kills a process storing a byte
 * in a mapped page wholly past the end of the file.
 */
export const PREDICTED_SIGNAL: string | undefined = "SIGBUS";
