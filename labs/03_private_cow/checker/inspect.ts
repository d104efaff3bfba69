/**
 * The checker's eyes, in a child of its own, so that the runner needs no FFI
 * (Deno reads nothing under /proc/PID without it) and maps nothing itself.
 * Reads the pagemap and smaps of the process running the student's code and,
 * if asked, maps the file itself to learn the frames of its page-cache pages.
 * The harness loads the student's module, but this drive never calls it.
 */
import { defineDrive, mapFile, pagemap, smaps, sys } from "../../../lib/checker/mod.ts";
import type { Look } from "./shared.ts";

interface Params {
  /** Without a pid: only report the page size. */
  pid?: number;
  address: string;
  pages: number;
  pageSize: number;
  /** Also map this file and report the frames of its page-cache pages. */
  file?: string;
}

export default defineDrive<Params>((ctx) => {
  const { pid, pages, pageSize, file } = ctx.params;
  if (pid === undefined) return { pageSize: sys.pageSize() };
  const address = BigInt(ctx.params.address);
  let cacheFrames: (string | null)[] | undefined;
  if (file) {
    using cache = mapFile(file);
    let sum = 0;
    for (let at = 0; at < cache.length; at += cache.pageSize) sum += cache.bytes[at];
    void sum;
    cacheFrames = cache.pages().map((p) => p.frame === null ? null : "0x" + p.frame.toString(16));
  }
  const look: Look = {
    pages: pagemap(address, pages, pid).map((p) => ({
      present: p.present,
      fileOrShared: p.fileOrShared,
      exclusive: p.exclusive,
      frame: p.frame === null ? null : "0x" + p.frame.toString(16),
    })),
    anonymous: smaps(pid, { address, length: pages * pageSize })
      .reduce((sum, e) => sum + e.anonymous, 0),
  };
  return { look, cacheFrames };
});
