/**
 * Small phrases that checks' messages share, so every lab says them the same
 * way.
 *
 * @module
 */

/**
 * Page numbers in increasing order, as words.
 *
 * @example
 * ```ts
 * console.log(pageList([3, 1])); // "pages 1, 3"
 * console.log(pageList([])); // "no page"
 * ```
 */
export function pageList(pages: readonly number[]): string {
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
