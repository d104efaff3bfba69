/**
 * Looking at a file from outside the student's process: reading it the way
 * another process would, through a descriptor of its own (what reached the
 * page cache), and witnessing every `write()` to it, whoever made it.
 *
 * @module
 */

import { INOTIFY } from "../ffi/constants.ts";
import { close, readWatchEvents, watchFile } from "../sys.ts";

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

/**
 * A witness, in the checker's process, of every `write()` to one file: the
 * kernel queues inotify's `IN_MODIFY` for each write(2), truncate(2) and
 * fallocate(2) of it by any process (a student's code, or a process it
 * started and let go, however detached), and never for a store through a
 * shared mapping, nor for its `msync` or `munmap` (inotify(7), NOTES). Make
 * it after the checker has written the file, before the child starts.
 *
 * @example
 * ```ts ignore
 * const path = ctx.file("message.txt", ".".repeat(64));
 * using witness = witnessWrites(path);
 * await ctx.run("drive.ts", { path });
 * if (witness.writes() > 0) ctx.fail("the file was written with write()");
 * ```
 */
export class WriteWitness implements Disposable {
  #fd: number | undefined;
  #writes = 0;

  /** Starts watching the file at `path`. */
  constructor(path: string) {
    this.#fd = watchFile(path, INOTIFY.IN_MODIFY);
  }

  /**
   * How many `IN_MODIFY` events the kernel queued so far. The kernel merges
   * an event with an identical one not yet read, so read this as "none" or
   * "at least this many".
   */
  writes(): number {
    if (this.#fd !== undefined) {
      this.#writes += readWatchEvents(this.#fd).filter((m) => m & INOTIFY.IN_MODIFY).length;
    }
    return this.#writes;
  }

  /** Stops watching (the count stays readable). */
  [Symbol.dispose](): void {
    if (this.#fd === undefined) return;
    this.writes();
    close(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * Starts a {@link WriteWitness} of the file at `path`.
 *
 * @example
 * ```ts ignore
 * using witness = witnessWrites(path);
 * ```
 */
export function witnessWrites(path: string): WriteWitness {
  return new WriteWitness(path);
}
