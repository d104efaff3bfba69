/**
 * `deno task lab show 05` (and `lab web 5`): the log's pages around one
 * commit, as pagemap and smaps show them. A store makes a page of the page
 * cache dirty; your `commitUpdate` must leave it clean (msync `MS_SYNC`),
 * with the marker page written and synced after it.
 */
import {
  defineDrive,
  type Frame,
  mapFile,
  type Mapping,
  snapshot,
  studentExport,
  sys,
} from "../../../lib/checker/mod.ts";

export default defineDrive((ctx) => {
  const commitUpdate = studentExport<
    (log: Mapping, offset: number, data: Uint8Array, sequence: number) => void
  >(ctx, "commitUpdate");
  const ps = sys.pageSize();
  const pageCount = 8;
  const path = `${ctx.scratch}/show.log`;
  {
    // Page by page: one large write would let the kernel cache the file in large folios, which
    // it maps and dirties whole (a store to one page would show every page of the folio dirty).
    using file = Deno.openSync(path, { write: true, create: true, truncate: true });
    for (let page = 0; page < pageCount; page++) file.writeSync(new Uint8Array(ps));
    file.syncSync(); // on disk: the page cache holds clean pages, so smaps can tell them apart
  }

  const frames: Frame[] = [];
  const log = mapFile(path, { access: "readwrite" });
  frames.push(
    snapshot(`the log mapped shared, ${log.pageCount} pages, none touched yet`, log, ctx),
  );

  // An update that spans pages 3 and 4. Stores fault one page each (a write fault maps no
  // neighbours), so smaps' dirty count names exactly the pages written.
  const offset = 3 * ps + ps / 2;
  const data = new TextEncoder().encode("update 1 ".repeat(Math.ceil(ps / 9))).subarray(0, ps);
  log.bytes.set(data, offset);
  frames.push(
    snapshot(
      "after storing an update's bytes in pages 3 and 4: dirty, in the page cache only " +
        "(a store is not a system call: no msync yet)",
      log,
      ctx,
    ),
  );

  commitUpdate(log, offset, data, 1);
  frames.push(
    snapshot(
      "after commitUpdate(log, …, 1): the data's pages synced, then the marker on page 0",
      log,
      ctx,
    ),
  );

  log.unmap();
  return { frames };
});
