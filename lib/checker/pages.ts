/**
 * Pages and bytes, as checks compare and name them: fingerprints of pages
 * (FNV-1a), the pages that differ, bytes as hex, page lists and sizes in the
 * words every lab uses.
 *
 * @module
 */

/**
 * A 32-bit FNV-1a hash of `bytes`, as a number.
 *
 * @example
 * ```ts
 * console.log(fnv1a(new Uint8Array())); // 2166136261 (0x811c9dc5)
 * ```
 */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

/**
 * A page's fingerprint: its FNV-1a hash as 8 hex digits, enough to tell
 * pages apart.
 *
 * @example
 * ```ts
 * console.log(fingerprint(new Uint8Array(4096))); // 8 hex digits
 * ```
 */
export function fingerprint(bytes: Uint8Array): string {
  return fnv1a(bytes).toString(16).padStart(8, "0");
}

/**
 * The fingerprint of every page of `bytes` (the last page may be short).
 *
 * @example
 * ```ts
 * console.log(pageFingerprints(new Uint8Array(8192), 4096).length); // 2
 * ```
 */
export function pageFingerprints(bytes: Uint8Array, pageSize: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += pageSize) {
    out.push(fingerprint(bytes.subarray(at, Math.min(at + pageSize, bytes.length))));
  }
  return out;
}

/**
 * The indexes at which two lists of page fingerprints differ (over the
 * second list's length).
 *
 * @example
 * ```ts
 * console.log(differingPages(["a", "b", "c"], ["a", "x", "c"])); // [1]
 * ```
 */
export function differingPages(seen: readonly string[], expected: readonly string[]): number[] {
  return expected.map((f, i) => f === seen[i] ? -1 : i).filter((i) => i >= 0);
}

/** How {@link hex} lays bytes out. */
export interface HexOptions {
  /** Between two bytes (default: nothing). */
  separator?: string;
  /** Bytes shown at most; past it, " …" (default: all). */
  max?: number;
}

/**
 * Bytes as hex digits, two a byte.
 *
 * @example
 * ```ts
 * console.log(hex(new Uint8Array([1, 171]))); // "01ab"
 * console.log(hex([1, 2, 3], { separator: " ", max: 2 })); // "01 02 …"
 * ```
 */
export function hex(bytes: ArrayLike<number>, options: HexOptions = {}): string {
  const { separator = "", max = Infinity } = options;
  const shown = Array.from(bytes).slice(0, max).map((b) => b.toString(16).padStart(2, "0"));
  return shown.join(separator) + (bytes.length > max ? " …" : "");
}

/**
 * Page numbers in increasing order, as words.
 *
 * @example
 * ```ts
 * console.log(pageList([3, 1])); // "pages 1, 3"
 * console.log(pageList([])); // "no page"
 * ```
 */
export function pageList(pages: Iterable<number>): string {
  const sorted = [...pages].sort((a, b) => a - b);
  return sorted.length ? `page${sorted.length > 1 ? "s" : ""} ${sorted.join(", ")}` : "no page";
}

/**
 * Bytes in kB, as `/proc/PID/smaps` shows them.
 *
 * @example
 * ```ts
 * console.log(kB(8192)); // "8 kB"
 * ```
 */
export function kB(bytes: number): string {
  return `${bytes / 1024} kB`;
}
