/**
 * Path helpers (no `@std/path`: JSR is out of reach).
 *
 * @module
 */

import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * A `file:` URL as a path.
 *
 * @example
 * ```ts
 * console.log(fromFileUrl(new URL("file:///tmp/a b"))); // "/tmp/a b"
 * ```
 */
export function fromFileUrl(url: URL | string): string {
  return fileURLToPath(url);
}

/**
 * A path as a `file:` URL string.
 *
 * @example
 * ```ts
 * console.log(toFileUrl("/tmp/a b")); // "file:///tmp/a%20b"
 * ```
 */
export function toFileUrl(path: string): string {
  return pathToFileURL(path).href;
}
