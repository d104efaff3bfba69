/**
 * Child side of lab 05. One drive, four modes:
 *
 * - `span`: calls the student's `pageSpan` on the checker's cases.
 * - `commit`: maps the log, dirties every page (unrelated pending writes),
 *   stops at `dirty` (the checker reads smaps), calls the student's
 *   `commitUpdate` while a hook on the call record snapshots the file at
 *   every `msync`, stops at `committed` (smaps again), then counts the write
 *   faults of re-writing synced and unsynced pages.
 * - `flags`: MS_ASYNC, MS_ASYNC|MS_INVALIDATE and an unaligned msync, with
 *   checkpoints for the checker to read smaps and the file.
 * - `kill`: writes through a shared mapping without msync and waits at a
 *   checkpoint to be killed.
 *
 * The drive's own libc calls run with the call record paused, so
 * `result.calls` holds the student's calls only.
 *
 * @module
 */
import {
  type CallRecord,
  defineDrive,
  type DriveContext,
  hex,
  mapFile,
  type Mapping,
  MmapError,
  MS,
  O,
  studentExport,
  sys,
  threadFaultCounts,
  withoutRecording,
} from "../../../lib/checker/mod.ts";

/** Parameters of every mode. */
export type Params =
  | { mode: "span"; cases: [number, number, number][] }
  | {
    mode: "commit";
    path: string;
    offset: number;
    data: number[];
    sequence: number;
    /** Pages whose re-write should fault if the update was synced right: the data pages and page 0. */
    synced: number[];
  }
  | { mode: "flags"; asyncPath: string; controlPath: string; unaligned: number; nonce: number[] }
  | { mode: "kill"; path: string; offset: number; nonce: number[] };

/** What the drive saw at one msync of the student's. */
export interface SyncSnapshot {
  /** Index of the msync in the call record. */
  index: number;
  /** Its address (hex), length and flags. */
  addr: string | null;
  length: number;
  flags: number;
  /** errno name if it failed. */
  error?: string;
  /** The first 16 bytes of the file (the marker) as another reader saw them right then, hex. */
  marker: string;
  /** The data range as another reader saw it then: the new bytes, the old ones, or a mix. */
  data: "new" | "old" | "partial";
}

const PREDICTIONS = [
  "PREDICTED_REWRITE_FAULTS_SYNCED",
  "PREDICTED_REWRITE_FAULTS_DIRTY",
  "PREDICTED_ASYNC_CLEANS_PAGES",
  "PREDICTED_INVALIDATE_DROPS_WRITES",
  "PREDICTED_UNALIGNED_MSYNC",
  "PREDICTED_KILL_LOSES_WRITES",
] as const;

function predictions(ctx: DriveContext<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of PREDICTIONS) {
    const value = ctx.student[name];
    out[name] = value === undefined ? null : value;
  }
  return out;
}

// Faults of this thread only: V8's helper threads add noise to RUSAGE_SELF.
function threadFaults(): number {
  return threadFaultCounts().minor;
}

/** Writes each listed page once and returns the write faults each cost. */
function rewrite(
  bytes: Uint8Array,
  pages: number[],
  pageSize: number,
  { dirtyFirst = false } = {},
): number[] {
  const faults: number[] = [];
  for (const p of pages) {
    const at = p * pageSize + 7;
    // A page meant to be dirty is written once more just before: the kernel's
    // background writeback (busy when other processes write a lot) may have
    // cleaned it since, and then the measured write would fault.
    if (dirtyFirst) bytes[at] ^= 0;
    const before = threadFaults();
    bytes[at] = bytes[at] ^ 0xff;
    faults.push(threadFaults() - before);
    bytes[at] = bytes[at] ^ 0xff;
  }
  return faults;
}

/** Writes every page with the bytes it already holds: the page becomes dirty, its content stays. */
function dirtyEveryPage(bytes: Uint8Array, pages: number, pageSize: number): void {
  for (let p = 0; p < pages; p++) {
    const at = p * pageSize;
    bytes[at] = bytes[at] ^ 0xff;
    bytes[at] = bytes[at] ^ 0xff;
  }
}

/**
 * Calls `fn` with a hook on the call record: every recorded `msync` also
 * takes a snapshot of the file through a separate descriptor (the page
 * cache, as any other process would read it).
 */
function withSyncSnapshots(
  ctx: DriveContext<unknown>,
  path: string,
  offset: number,
  data: Uint8Array,
  old: Uint8Array,
  fn: () => void,
): SyncSnapshot[] {
  const fd = withoutRecording(() => sys.open(path, O.RDONLY | O.CLOEXEC));
  const record = ctx.calls() as CallRecord[];
  const snapshots: SyncSnapshot[] = [];
  const push = record.push;
  const marker = new Uint8Array(16);
  const now = new Uint8Array(data.length);
  record.push = function (...items: CallRecord[]): number {
    const n = push.apply(this, items);
    for (const item of items) {
      if (item.call !== "msync") continue;
      withoutRecording(() => {
        sys.pread(fd, marker, 0);
        sys.pread(fd, now, offset);
      });
      let same = 0, sameOld = 0;
      for (let i = 0; i < now.length; i++) {
        if (now[i] === data[i]) same++;
        if (now[i] === old[i]) sameOld++;
      }
      snapshots.push({
        index: n - 1,
        addr: item.args.addr as string | null,
        length: Number(item.args.length),
        flags: Number(item.args.flags),
        error: item.error,
        marker: hex(marker),
        data: same === now.length ? "new" : sameOld === now.length ? "old" : "partial",
      });
    }
    return n;
  };
  if (ctx.calls() !== record || record.push === push) {
    throw new Error("lab 05 drive: cannot hook the call record (lib/trace.ts changed?)");
  }
  try {
    fn();
  } finally {
    record.push = push;
    withoutRecording(() => sys.close(fd));
  }
  return snapshots;
}

export default defineDrive<Params>(async (ctx) => {
  const p = ctx.params;
  switch (p.mode) {
    case "span": {
      const pageSpan = studentExport<
        (offset: number, length: number, pageSize: number) => { offset: number; length: number }
      >(ctx, "pageSpan");
      return {
        spans: p.cases.map(([offset, length, pageSize]) => {
          const span = pageSpan(offset, length, pageSize);
          return { offset: span?.offset ?? null, length: span?.length ?? null };
        }),
      };
    }

    case "commit": {
      const commitUpdate = studentExport<
        (log: Mapping, offset: number, data: Uint8Array, sequence: number) => void
      >(ctx, "commitUpdate");
      const log = withoutRecording(() => mapFile(p.path, { access: "readwrite" }));
      const ps = log.pageSize;
      const pages = log.pageCount;
      const data = Uint8Array.from(p.data);
      const old = log.bytes.slice(p.offset, p.offset + data.length);
      dirtyEveryPage(log.bytes, pages, ps);
      await ctx.checkpoint("dirty", { address: log.address.toString(), length: log.length });
      const before = ctx.calls().length;
      const snapshots = withSyncSnapshots(
        ctx,
        p.path,
        p.offset,
        data,
        old,
        () => commitUpdate(log, p.offset, data, p.sequence),
      );
      const calls = ctx.calls().length - before;
      await ctx.checkpoint("committed", { address: log.address.toString(), length: log.length });
      // Re-write the pages: a page cleaned by msync is write-protected again,
      // so its first write faults; a page still dirty does not.
      const synced = p.synced.filter((page) => page < pages);
      const others = Array.from({ length: pages }, (_, i) => i).filter((i) => !synced.includes(i));
      const syncedFaultList = withoutRecording(() => rewrite(log.bytes, synced, ps));
      const otherFaultList = withoutRecording(() =>
        rewrite(log.bytes, others, ps, { dirtyFirst: true })
      );
      const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
      const syncedFaults = sum(syncedFaultList);
      const otherFaults = sum(otherFaultList);
      withoutRecording(() => log.unmap());
      return {
        address: log.address.toString(),
        pageSize: ps,
        pages,
        snapshots,
        calls,
        syncedFaults,
        syncedFaultList,
        syncedPages: synced.length,
        otherFaults,
        otherFaultList,
        otherPages: others.length,
        predictions: predictions(ctx),
      };
    }

    case "flags": {
      const ps = sys.pageSize();
      const nonce = Uint8Array.from(p.nonce);
      const [async, control] = withoutRecording(() => [
        mapFile(p.asyncPath, { access: "readwrite" }),
        mapFile(p.controlPath, { access: "readwrite" }),
      ]);
      for (const m of [async, control]) dirtyEveryPage(m.bytes, m.pageCount, ps);
      const where = {
        async: { address: async.address.toString(), length: async.length },
        control: { address: control.address.toString(), length: control.length },
      };
      await ctx.checkpoint("dirty", where);
      withoutRecording(() => async.sync({ mode: "async" })); // msync(MS_ASYNC)
      await ctx.checkpoint("after-async", where);
      // New bytes, never synced; then MS_INVALIDATE: are they thrown away?
      for (let page = 0; page < async.pageCount; page++) async.bytes.set(nonce, page * ps + 64);
      withoutRecording(() => async.sync({ mode: "async", invalidate: true }));
      let held = 0;
      for (let page = 0; page < async.pageCount; page++) {
        const got = async.bytes.subarray(page * ps + 64, page * ps + 64 + nonce.length);
        if (got.every((b, i) => b === nonce[i])) held++;
      }
      await ctx.checkpoint("after-invalidate", { ...where, held, pages: async.pageCount });
      // An address that is not a multiple of the page size.
      let unaligned = "ok";
      try {
        withoutRecording(() =>
          sys.msync(sys.pointerAt(async.address + BigInt(p.unaligned)), ps, MS.SYNC)
        );
      } catch (err) {
        if (!(err instanceof MmapError)) throw err;
        unaligned = err.code;
      }
      withoutRecording(() => {
        async.unmap();
        control.unmap();
      });
      return { held, pages: async.pageCount, unaligned, predictions: predictions(ctx) };
    }

    case "kill": {
      const m = withoutRecording(() => mapFile(p.path, { access: "readwrite" }));
      m.bytes.set(p.nonce, p.offset); // no msync: only the page cache has it
      await ctx.checkpoint("written", {
        address: m.address.toString(),
        length: m.length,
        predictions: predictions(ctx),
      });
      // The checker sends SIGKILL while we wait above: no unmap, no msync, no exit handler.
      return { survived: true };
    }
  }
});
