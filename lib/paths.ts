/**
 * Path helpers (no `@std/path`: JSR is out of reach).
 *
 * @module
 */

// Not node:url: loading Deno's Node compatibility costs every child process a
// few milliseconds of start-up, and checkers start hundreds of them.

/**
 * A `file:` URL as a path.
 *
 * @example
 * ```ts
 * console.log(fromFileUrl(new URL("file:///tmp/a b"))); // "/tmp/a b"
 * ```
 */
export function fromFileUrl(url: URL | string): string {
  const u = url instanceof URL ? url : new URL(url);
  if (u.protocol !== "file:") throw new TypeError(`not a file: URL: ${u.href}`);
  if (u.hostname !== "") throw new TypeError(`a file: URL with a host: ${u.href}`);
  return decodeURIComponent(u.pathname);
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
  if (!path.startsWith("/")) path = `${Deno.cwd()}/${path}`;
  const url = new URL("file:///");
  // What the pathname setter would drop or read as syntax, encoded first.
  url.pathname = path.replace(/[%\\\t\n\r]/g, (c) => encodeURIComponent(c));
  return url.href;
}
