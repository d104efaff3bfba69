// A plausible mistake: msync with MS_ASYNC, which Linux ignores: nothing is
// written to storage, the pages stay dirty.
// expect-fail: sync-cleans /MS_ASYNC/
import { mapFile, type Mapping, resizeFile } from "../../../lib/mod.ts";

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
 * new process find missing?
 *
 * None. The stores went into page-cache pages shared with the file; the
 * kernel owns them, not the process, and will write them back whether or not
 * the process lives. msync matters when the *machine* dies, not the process.
 */
export const PREDICTED_LOST_AFTER_KILL: number | undefined = 0;

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
  #mapping: Mapping;
  #header: Int32Array;
  #end: number;

  /** Opens the store at `path`, creating it if it does not exist (use {@link openWriter}). */
  constructor(path: string) {
    this.path = path;
    // A new store: grow the empty file first (ftruncate). Mapping past the
    // end of a file is allowed, but touching a page wholly past it is SIGBUS.
    if (fileSize(path) < HEADER_SIZE) resizeFile(path, INITIAL_SIZE);
    this.#mapping = mapFile(path, { access: "readwrite" }); // MAP_SHARED
    this.#header = new Int32Array(this.#mapping.bytes.buffer, 0, HEADER_SIZE / 4);
    const h = this.#header;
    if (h[0] === 0 && h[1] === 0 && Atomics.load(h, END_INDEX) === 0) {
      // All zeros: a file never initialised (new, or killed while being made).
      h[0] = MAGIC;
      h[1] = VERSION;
      Atomics.store(h, END_INDEX, HEADER_SIZE);
    } else if (h[0] !== MAGIC || h[1] !== VERSION) {
      this.#mapping.unmap();
      throw new Error(`${path} is not a version ${VERSION} log store`);
    }
    // Restart where the last committed entry ends. Anything after it is an
    // append that never committed: the next append simply writes over it.
    this.#end = Atomics.load(h, END_INDEX);
  }

  /**
   * Appends one entry and commits it: once this returns, every reader sees
   * it, and it survives the writer being killed.
   */
  append(payload: Uint8Array): void {
    const at = this.#end;
    const next = at + ENTRY_HEADER + align8(payload.length);
    if (next > this.#mapping.length) this.#grow(next);
    const bytes = this.#mapping.bytes; // a fresh view: #grow may have remapped
    const view = new DataView(bytes.buffer);
    // 1. Write the entry past the committed end, where no reader looks.
    view.setUint32(at, payload.length, true);
    view.setUint32(at + 4, checksum(payload), true);
    bytes.set(payload, at + ENTRY_HEADER);
    // 2. Publish it: one aligned 32-bit atomic store. A reader sees the old
    // end or the new one, never half of it, and Atomics orders the entry's
    // bytes before it: whoever sees the new end sees the whole entry.
    Atomics.store(this.#header, END_INDEX, next);
    this.#end = next;
  }

  /** Grows the file to at least `needed` bytes (doubling) and maps it again. */
  #grow(needed: number): void {
    let size = this.#mapping.length;
    while (size < needed) size *= 2;
    // ftruncate first: the new pages must exist in the file before we touch them.
    resizeFile(this.path, size);
    // A mapping never grows by itself: drop it and map the bigger file.
    // Every view of the old mapping is detached now; take new ones.
    this.#mapping.unmap();
    this.#mapping = mapFile(this.path, { access: "readwrite" });
    this.#header = new Int32Array(this.#mapping.bytes.buffer, 0, HEADER_SIZE / 4);
  }

  /**
   * Flushes every appended entry to storage (msync MS_SYNC). Not needed for
   * readers or for surviving a killed process: for surviving a power cut.
   */
  sync(): void {
    this.#mapping.sync({ length: this.#end, mode: "async" });
  }

  /** Unmaps the store. */
  close(): void {
    this.#mapping.unmap();
  }
}

/** A reader of a store, in any process: follows the writer's commits. */
export class Reader {
  readonly path: string;
  #mapping: Mapping;
  #header: Int32Array;
  #cursor = HEADER_SIZE;

  /** Opens an existing store read-only (use {@link openReader}). */
  constructor(path: string) {
    this.path = path;
    this.#mapping = mapFile(path); // read-only, shared: sees the writer's stores at once
    this.#header = new Int32Array(this.#mapping.bytes.buffer, 0, HEADER_SIZE / 4);
    if (this.#header[0] !== MAGIC || this.#header[1] !== VERSION) {
      this.#mapping.unmap();
      throw new Error(`${path} is not a version ${VERSION} log store`);
    }
  }

  /**
   * The committed entries this reader has not returned yet, in order, as
   * copies (a view into the mapping would die at the next remap).
   */
  poll(): Uint8Array[] {
    // Read the committed end once, atomically; never look past it.
    const end = Atomics.load(this.#header, END_INDEX);
    if (end > this.#mapping.length) {
      // The writer grew the file after we mapped it: map it again. The file
      // is at least `end` long, because the writer grows before it commits.
      this.#mapping.unmap();
      this.#mapping = mapFile(this.path);
      this.#header = new Int32Array(this.#mapping.bytes.buffer, 0, HEADER_SIZE / 4);
    }
    const bytes = this.#mapping.bytes;
    const view = new DataView(bytes.buffer);
    const out: Uint8Array[] = [];
    while (this.#cursor < end) {
      const length = view.getUint32(this.#cursor, true);
      const start = this.#cursor + ENTRY_HEADER;
      const entry = bytes.slice(start, start + length);
      if (checksum(entry) !== view.getUint32(this.#cursor + 4, true)) {
        throw new Error(`torn entry at byte ${this.#cursor}: its checksum does not match`);
      }
      out.push(entry);
      this.#cursor = start + align8(length);
    }
    return out;
  }

  /** Unmaps the store. */
  close(): void {
    this.#mapping.unmap();
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
