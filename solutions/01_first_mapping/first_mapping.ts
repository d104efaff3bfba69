/**
 * # Lab 01: First mapping (read-only) — reference solution
 *
 * Every function maps the file (or just the pages it needs) read-only, reads
 * the bytes straight out of memory, and unmaps before returning. No `read()`
 * ever touches the file: the page cache pages *are* the bytes we look at.
 *
 * @module
 */

import { mapFile, type Mapping, sys } from "../../lib/mod.ts";

/**
 * Maps the whole file at `path` read-only and returns the mapping, or
 * `undefined` for an empty file. The caller unmaps it.
 *
 * Nothing is read here: the kernel only reserves the address range and
 * remembers which file backs it. Pages come in one fault at a time, when the
 * bytes are first touched.
 */
export function mapWhole(path: string): Mapping | undefined {
  // mmap of length 0 is EINVAL: an empty file has nothing to map. Asking the
  // file system for the size is a stat(), not a read().
  if (Deno.statSync(path).size === 0) return undefined;
  // access "read" → PROT_READ (and the file is opened O_RDONLY). A read-only
  // mapping also protects the file: a stray store is a SIGSEGV, not corruption.
  // No `populate`: pre-faulting every page is the opposite of what we observe.
  return mapFile(path, { access: "read" });
}

/**
 * Counts the lines of the file at `path` like `wc -l` does: the number of
 * newline bytes (`\n`, 10). An empty file has 0 lines.
 */
export function countLines(path: string): number {
  // `using` accepts undefined: the empty file needs no mapping and no unmap.
  using mapping = mapWhole(path);
  if (mapping === undefined) return 0;
  const bytes = mapping.bytes;
  let lines = 0;
  // indexOf on a Uint8Array scans native memory quickly; each page is brought
  // in by a (minor) fault the first time the scan touches it.
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++;
  return lines;
}

/**
 * Every byte offset at which `word` (UTF-8) starts in the file at `path`, in
 * increasing order. Occurrences may overlap. Offsets count bytes, not
 * characters: the file may contain multi-byte UTF-8 text.
 */
export function findAll(path: string, word: string): number[] {
  const needle = new TextEncoder().encode(word);
  using mapping = mapWhole(path);
  if (mapping === undefined || needle.length === 0) return [];
  const bytes = mapping.bytes;
  const found: number[] = [];
  const last = bytes.length - needle.length;
  // Jump from one occurrence of the first byte to the next, then compare the
  // rest. A mapping is one flat run of bytes: a word that straddles a page
  // boundary needs no special care.
  for (
    let at = bytes.indexOf(needle[0]);
    at !== -1 && at <= last;
    at = bytes.indexOf(needle[0], at + 1)
  ) {
    let i = 1;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) found.push(at);
  }
  return found;
}

/**
 * The `length` bytes of the file at `path` that start at byte `offset`, as a
 * fresh copy. `offset + length` never exceeds the file's size. Maps only the
 * pages that hold the window.
 */
export function readWindow(path: string, offset: number, length: number): Uint8Array {
  // Nothing to map (and mmap of length 0 would be EINVAL): also covers the empty file.
  if (length === 0) return new Uint8Array(0);
  const pageSize = sys.pageSize(); // 4096 here; 16384 or 65536 on some ARM machines
  // mmap's offset must be a multiple of the page size (EINVAL otherwise):
  // start the mapping at the page that holds `offset`, and skip `skip` bytes.
  const base = offset - (offset % pageSize);
  const skip = offset - base;
  using mapping = mapFile(path, { access: "read", offset: base, length: skip + length });
  // slice() copies. A subarray() would be a view of the mapping, and unmap
  // (at the end of this block) detaches it: the caller would get 0 bytes.
  return mapping.bytes.slice(skip, skip + length);
}

/**
 * Bytes of address space (in `/proc/PID/maps`) a mapping of a 10,000-byte file spans: whole
 * pages only, so 10,000 rounded up to a multiple of the page size (12,288: 3 pages of 4096),
 * although `mapping.length` says 10,000.
 */
export const PREDICTED_MAPPED_BYTES: number | undefined = Math.ceil(10_000 / sys.pageSize()) *
  sys.pageSize();

/**
 * One read fault of a file the kernel already caches maps the cached pages around it too
 * ("fault-around": 64 KiB, the 16 pages of 4 KiB around it; pages of 16 KiB: 4). With 64 KiB
 * pages that window is the page itself, and fault-around is off.
 */
export const PREDICTED_AFTER_ONE_READ:
  | "only that page"
  | "that page and some neighbours"
  | "the whole file"
  | undefined = sys.pageSize() >= 65536 ? "only that page" : "that page and some neighbours";
