/**
 * `deno task lab show 04`: your memory's pages at each step, as pagemap and
 * smaps show them: absent (·), the shared zero page (0), a page of your own
 * (█), shared memory (▓).
 */
import {
  defineDrive,
  type Frame,
  type Mapping,
  snapshot,
  studentExport,
  sys,
} from "../../../lib/checker/mod.ts";

interface SharedRegion {
  memory: Mapping;
  fd: number;
  path: string;
}

/**
 * A memfd mapped with mapDescriptor or mapFile is a "file" mapping to the
 * library, so its pages are named "file"; they are shared memory.
 */
function asShared(frame: Frame): Frame {
  return { ...frame, pages: frame.pages.map((s) => (s === "file" ? "shared" : s)) };
}

export default defineDrive((ctx) => {
  const allocate = studentExport<(size: number) => Mapping>(ctx, "allocate");
  const release = studentExport<(memory: Mapping, first: number, count: number) => void>(
    ctx,
    "release",
  );
  const createShared = studentExport<(size: number) => SharedRegion>(ctx, "createShared");
  const attachShared = studentExport<(path: string) => Mapping>(ctx, "attachShared");
  const closeShared = studentExport<(region: SharedRegion) => void>(ctx, "closeShared");
  const ps = sys.pageSize();
  const frames: Frame[] = [];

  const memory = allocate(16 * ps);
  try {
    memory.advise("nohugepage"); // one fault, one small page, whatever the machine's setting
  } catch { /* no THP here */ }
  frames.push(
    snapshot("allocate(16 pages): addresses reserved, not one page given yet", memory, ctx),
  );

  let sum = 0;
  for (let at = 0; at < memory.length; at += ps) sum += memory.bytes[at];
  const read = snapshot("after reading every page", memory, ctx);
  // The caption says what this kernel did, from the picture's own pages and Rss.
  const zero = read.pages.filter((p) => p === "zero").length;
  const own = read.pages.filter((p) => p === "own").length;
  const kB = `Rss ${read.smaps.rss / 1024} kB`;
  read.title += own === 0
    ? `: all zeros, every page the shared zero page, ${kB}`
    : zero === 0
    ? `: all zeros, yet each read gave a page of your own (no zero page on this kernel), ${kB}`
    : `: all zeros; ${zero} zero-page mappings, ${own} pages of your own, ${kB}`;
  frames.push(read);

  for (const p of [1, 4, 5, 10]) memory.bytes[p * ps + 7] = 42;
  frames.push(snapshot("after writing one byte in pages 1, 4, 5 and 10", memory, ctx));

  release(memory, 4, 4);
  frames.push(snapshot("after release(memory, 4, 4): pages 4–7 given back", memory, ctx));
  memory.unmap();

  const region = createShared(4 * ps);
  region.memory.bytes.set(new TextEncoder().encode("hello"), 0);
  region.memory.bytes[2 * ps] = 1;
  frames.push(
    asShared(snapshot("createShared(4 pages), after writing pages 0 and 2", region.memory, ctx)),
  );

  const other = attachShared(region.path);
  sum += other.bytes[0] + other.bytes[2 * ps];
  frames.push(
    asShared(snapshot(`attachShared(${region.path}), after reading pages 0 and 2`, other, ctx)),
  );
  release(other, 0, other.pageCount);
  frames.push(asShared(snapshot("after release() on that whole mapping", other, ctx)));
  const again = new TextDecoder().decode(other.bytes.subarray(0, 5));
  frames.push(
    asShared(snapshot(
      `after reading page 0 again: ${JSON.stringify(again)}, data intact ` +
        "(read faults on a memfd map cached neighbours too)",
      other,
      ctx,
    )),
  );
  other.unmap();
  closeShared(region);
  void sum;
  return { frames };
});
