/**
 * # Lab 00: Hello, mapping
 *
 * A warm-up for the runner. The checker creates a file of exactly the right
 * size, filled with dots, and calls `writeMessage(path, message)`. Your job:
 * put `message` into the file **through memory**, not with `write()`.
 *
 * Why: with a shared mapping (`MAP_SHARED`), the bytes of `mapping.bytes`
 * *are* the file's bytes in the page cache. Storing into memory is storing
 * into the file; the kernel writes the page back to disk later.
 *
 * Read: `man 2 mmap` (the DESCRIPTION and MAP_SHARED), and the `mapFile`
 * docs in `lib/mapping.ts`.
 *
 * The checker reads the file from another process, counts the bytes your
 * process wrote with `write()` (in `/proc/PID/io`), watches the file with
 * inotify (`man 7 inotify`: the kernel reports every `write()` to a file,
 * from any process, and never a store through a mapping), and looks at the
 * calls your code made: a `write()` or `Deno.writeFile` will not pass.
 *
 * @module
 */

import { mapFile } from "../../lib/mod.ts";

/**
 * Writes `message` at the start of the file at `path`, through a shared
 * mapping. The file already has room for the message.
 */
export function writeMessage(path: string, message: string): void {
  const bytes = new TextEncoder().encode(message);
  // TODO: map the file read-write (a shared mapping), copy `bytes` into it at
  // offset 0, and unmap it. Then delete the line below.
  void [mapFile, path, bytes];
}
