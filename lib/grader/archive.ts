/**
 * Archives for the grading packages, with no `zip` binary and no dependency:
 * a ZIP writer that stores files uncompressed (CRC-32, local headers, central
 * directory; Unix modes kept, so `run_autograder` stays executable), a ZIP
 * reader for what that writer makes (to verify a package), and a POSIX tar
 * (ustar) writer for Autolab's `autograde.tar`. Timestamps are fixed, so the
 * same tree gives the same bytes.
 *
 * @module
 */

/** One file of an archive. */
export interface ArchiveEntry {
  /** Path inside the archive, `/`-separated, no leading `/`. */
  path: string;
  /** The bytes. */
  data: Uint8Array;
  /** Unix permission bits (default 0o644). */
  mode?: number;
}

/** Thrown for an archive that cannot be written or read. */
export class ArchiveError extends Error {}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 (IEEE 802.3, as ZIP and gzip use it).
 *
 * @example
 * ```ts
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // "cbf43926"
 * ```
 */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checkPath(path: string): void {
  if (
    !path || path.startsWith("/") || path.split("/").some((p) => p === ".." || p === "") ||
    path.includes("\\") || path.includes("\0")
  ) {
    throw new ArchiveError(`not a safe path inside an archive: ${JSON.stringify(path)}`);
  }
}

// 2000-01-01 00:00 in MS-DOS form: fixed, so a package is reproducible.
const DOS_TIME = 0;
const DOS_DATE = ((2000 - 1980) << 9) | (1 << 5) | 1;

/**
 * A ZIP archive of `entries`, stored (no compression), UTF-8 names, Unix
 * modes. Throws {@link ArchiveError} for an unsafe path, a repeated path, or
 * sizes past the classic format's limits (4 GiB, 65,535 entries).
 *
 * @example
 * ```ts
 * const zip = makeZip([{ path: "run_autograder", data: new TextEncoder().encode("#!/bin/sh\n"), mode: 0o755 }]);
 * console.log(readZip(zip)[0].mode.toString(8)); // "755"
 * ```
 */
export function makeZip(entries: readonly ArchiveEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    checkPath(entry.path);
    if (seen.has(entry.path)) throw new ArchiveError(`${entry.path} is in the archive twice`);
    seen.add(entry.path);
    const name = encoder.encode(entry.path);
    const crc = crc32(entry.data);
    const size = entry.data.length;
    const mode = (entry.mode ?? 0o644) & 0o7777;
    const local = new Uint8Array(30 + name.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true); // version needed: 2.0
    l.setUint16(6, 0x0800, true); // UTF-8 names
    l.setUint16(8, 0, true); // stored
    l.setUint16(10, DOS_TIME, true);
    l.setUint16(12, DOS_DATE, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, size, true);
    l.setUint32(22, size, true);
    l.setUint16(26, name.length, true);
    l.setUint16(28, 0, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const c = new DataView(central.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, (3 << 8) | 20, true); // made by Unix, 2.0: the external attributes hold the mode
    c.setUint16(6, 20, true);
    c.setUint16(8, 0x0800, true);
    c.setUint16(10, 0, true);
    c.setUint16(12, DOS_TIME, true);
    c.setUint16(14, DOS_DATE, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, size, true);
    c.setUint32(24, size, true);
    c.setUint16(28, name.length, true);
    c.setUint16(30, 0, true); // extra
    c.setUint16(32, 0, true); // comment
    c.setUint16(34, 0, true); // disk
    c.setUint16(36, 0, true); // internal attributes
    c.setUint32(38, ((0o100000 | mode) << 16) >>> 0, true); // a regular file, and its mode
    c.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, entry.data);
    centrals.push(central);
    offset += local.length + size;
    if (offset > 0xffffffff) throw new ArchiveError("the archive would pass 4 GiB");
  }
  if (entries.length > 0xffff) throw new ArchiveError("more than 65,535 files");
  const centralSize = centrals.reduce((s, b) => s + b.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, entries.length, true);
  e.setUint16(10, entries.length, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + end.length);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A file read back from a ZIP archive. */
export interface ZipFile {
  /** Its path inside the archive. */
  path: string;
  /** Its Unix permission bits (0o644 when the archive has none). */
  mode: number;
  /** Its bytes. */
  data: Uint8Array;
}

/**
 * The files of a ZIP archive whose entries are stored (what {@link makeZip}
 * writes): checks every signature, size and CRC-32. Throws
 * {@link ArchiveError} for anything else (a compressed entry, a truncated or
 * damaged archive).
 *
 * @example
 * ```ts
 * const zip = makeZip([{ path: "a/b.txt", data: new Uint8Array([1, 2]) }]);
 * console.log(readZip(zip).map((f) => f.path)); // [ "a/b.txt" ]
 * ```
 */
export function readZip(zip: Uint8Array): ZipFile[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ArchiveError("not a ZIP archive (no end of central directory)");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  const files: ZipFile[] = [];
  for (let n = 0; n < count; n++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== 0x02014b50) {
      throw new ArchiveError(`damaged central directory at entry ${n + 1}`);
    }
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const madeBy = view.getUint16(at + 4, true) >> 8;
    const external = view.getUint32(at + 38, true);
    const local = view.getUint32(at + 42, true);
    const path = decoder.decode(zip.subarray(at + 46, at + 46 + nameLength));
    at += 46 + skip;
    if (path.endsWith("/")) continue; // a folder
    if (method !== 0) throw new ArchiveError(`${path} is compressed (method ${method})`);
    if (view.getUint32(local, true) !== 0x04034b50) {
      throw new ArchiveError(`${path}: damaged local header`);
    }
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + size > zip.length) throw new ArchiveError(`${path}: cut short`);
    const data = zip.slice(start, start + size);
    if (crc32(data) !== crc) throw new ArchiveError(`${path}: CRC-32 mismatch`);
    const mode = madeBy === 3 && external >>> 16 ? (external >>> 16) & 0o7777 : 0o644;
    files.push({ path, mode, data });
  }
  return files;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/**
 * A POSIX tar (ustar) archive of `entries`: regular files, owner root,
 * fixed time. Long paths use the ustar prefix field; a path that cannot fit
 * (a name over 100 bytes, or over 255 in all) is refused.
 *
 * @example
 * ```ts
 * const tar = makeTar([{ path: "mmap-lab/deno.json", data: new TextEncoder().encode("{}") }]);
 * console.log(tar.length); // 2048: one header, one data block, two zero blocks
 * ```
 */
export function makeTar(entries: readonly ArchiveEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    checkPath(entry.path);
    const full = encoder.encode(entry.path);
    let name = full;
    let prefix = new Uint8Array(0);
    if (full.length > 100) {
      const text = entry.path;
      let cut = -1;
      for (let i = text.indexOf("/"); i !== -1; i = text.indexOf("/", i + 1)) {
        if (
          encoder.encode(text.slice(0, i)).length <= 155 &&
          encoder.encode(text.slice(i + 1)).length <= 100
        ) {
          cut = i;
          break;
        }
      }
      if (cut === -1) throw new ArchiveError(`path too long for tar: ${entry.path}`);
      prefix = encoder.encode(text.slice(0, cut));
      name = encoder.encode(text.slice(cut + 1));
    }
    const header = new Uint8Array(512);
    const put = (text: string | Uint8Array, at: number) =>
      header.set(typeof text === "string" ? encoder.encode(text) : text, at);
    put(name, 0);
    put(octal((entry.mode ?? 0o644) & 0o7777, 8), 100);
    put(octal(0, 8), 108); // uid
    put(octal(0, 8), 116); // gid
    put(octal(entry.data.length, 12), 124);
    put(octal(946684800, 12), 136); // 2000-01-01
    put("        ", 148); // checksum: spaces while summing
    put("0", 156); // a regular file
    put("ustar\0", 257);
    put("00", 263);
    put("root", 265);
    put("root", 297);
    put(prefix, 345);
    const sum = header.reduce((s, b) => s + b, 0);
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(header);
    const padded = new Uint8Array(Math.ceil(entry.data.length / 512) * 512);
    padded.set(entry.data);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
