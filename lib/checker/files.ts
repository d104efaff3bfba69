/**
 * Reading a file the way another process would, through a descriptor of
 * its own: what a checker does to see what reached the page cache.
 *
 * @module
 */

/**
 * Up to `length` bytes of `file` from byte `at` (fewer at the end of the
 * file), read with as many `read()`s as it takes.
 *
 * @example
 * ```ts ignore
 * using file = Deno.openSync(path, { read: true });
 * const header = readAt(file, 0, 12);
 * ```
 */
export function readAt(file: Deno.FsFile, at: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  file.seekSync(at, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = file.readSync(out.subarray(got));
    if (n === null) break;
    got += n;
  }
  return out.subarray(0, got);
}
