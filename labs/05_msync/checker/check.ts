/**
 * Checks of lab 05: a durable update in the right order.
 *
 * Evidence: the file's bytes read by the checker; the student's `msync`
 * calls from the call record (addresses relative to the log mapping, flags);
 * what another reader of the file saw at the moment of each `msync` (a hook
 * in the drive); `/proc/PID/smaps` of the child read by the checker before
 * and after `commitUpdate` (dirty → clean); the write faults of re-writing
 * the pages, measured by the drive; and for the predictions, the kernel's
 * behaviour in the same run (smaps, file bytes, errno, a SIGKILLed child).
 *
 * @module
 */
import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  fnv1a,
  hasFlag,
  hex,
  MS,
  pageList,
  requirePrediction,
  smaps,
  sys,
} from "../../../lib/checker/mod.ts";
import type { Params, SyncSnapshot } from "./drive.ts";

// ---------------------------------------------------------------- reading /proc

/** The page size, set by {@link setup} at the start of every check that needs it. */
let PS = 4096;

function setup(): void {
  PS = sys.pageSize(); // checkers run with --allow-ffi (the lab, grade and test permission sets)
}

// ---------------------------------------------------------------- helpers

/**
 * Writes `content` to a new file one page per `pwrite`, then `fsync`s it.
 * One page per write keeps one page per page-cache folio: a file written
 * with one big `write()` gets large folios on ext4 (Linux 6.x), and writeback
 * cleans a whole folio at once, which would blur "exactly these pages".
 */
function makeFile(path: string, content: Uint8Array): void {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let at = 0; at < content.length; at += PS) {
    const page = content.subarray(at, Math.min(at + PS, content.length));
    for (let done = 0; done < page.length;) done += file.writeSync(page.subarray(done));
  }
  file.syncSync(); // fsync: the pages start clean, the blocks allocated
}

/** The marker as the stub's `encodeMarker` lays it out. */
function marker(sequence: number, offset: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, sequence, true);
  view.setUint32(4, offset, true);
  view.setUint32(8, data.length, true);
  view.setUint32(12, fnv1a(data), true);
  return out;
}

function describeMarker(bytes: Uint8Array): string {
  const v = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return `sequence=${v.getUint32(0, true)} offset=${v.getUint32(4, true)} length=${
    v.getUint32(8, true)
  } checksum=0x${v.getUint32(12, true).toString(16)}`;
}

interface Sizes {
  dirty: number;
  clean: number;
}

/** Dirty and clean pages of the areas of `pid` in a range, from `/proc/PID/smaps`. */
function sizes(
  pid: number,
  address: string,
  length: number,
): Sizes {
  type Entry = {
    privateDirty: number;
    sharedDirty: number;
    privateClean: number;
    sharedClean: number;
  };
  const entries: Entry[] = smaps(pid, { address: BigInt(address), length });
  let dirty = 0, clean = 0;
  for (const e of entries) {
    dirty += e.privateDirty + e.sharedDirty;
    clean += e.privateClean + e.sharedClean;
  }
  return { dirty: dirty / PS, clean: clean / PS };
}

function requireDiskBacked(ctx: CheckContext): void {
  const scratch = ctx.kernel.scratch;
  if (!scratch.msyncCleans) {
    ctx.fail(`the scratch directory is on ${scratch.fileSystem}, where msync cleans no page`, {
      expected: "scratch files on a file system with writeback (ext4, xfs, btrfs…)",
      observed: `${scratch.dir} is on ${scratch.fileSystem}, and so is every other directory ` +
        "the lab may use (deno task lab doctor)",
      mistake: "not yours: without writeback msync never cleans a page, so this check cannot " +
        "see anything. Run the lab from a copy of the project on a disk-backed file system",
      kernel: `no scratch directory with writeback (${scratch.dir} is on ${scratch.fileSystem})`,
    });
  }
}

// ---------------------------------------------------------------- the commit run

interface CommitRun {
  path: string;
  content: Uint8Array;
  data: Uint8Array;
  offset: number;
  sequence: number;
  pages: number;
  dataPages: number[];
  expected: Set<number>;
  result: ChildResult;
  before?: Sizes;
  after?: Sizes;
  address?: string;
  attempts: number;
}

interface CommitValue {
  address: string;
  pageSize: number;
  pages: number;
  snapshots: SyncSnapshot[];
  syncedFaults: number;
  /** Write faults of each synced page's re-write. */
  syncedFaultList: number[];
  syncedPages: number;
  otherFaults: number;
  /** Write faults of each still-dirty page's re-write. */
  otherFaultList: number[];
  otherPages: number;
  predictions: Record<string, unknown>;
}

/** The pages each successful MS_SYNC msync of the student covered, relative to the log. */
function syncedPagesOf(calls: CallRecord[], address: string, pages: number) {
  const base = BigInt(address);
  const covered = new Set<number>();
  const outside: string[] = [];
  const described: string[] = [];
  let asyncOnly = 0, failed = 0, total = 0;
  for (const c of callsTo(calls, "msync")) {
    total++;
    const addr = typeof c.args.addr === "string" ? BigInt(c.args.addr) : 0n;
    const length = Number(c.args.length);
    const flags = Number(c.args.flags);
    const rel = Number(addr - base);
    const flagText = (["MS_SYNC", "MS_ASYNC", "MS_INVALIDATE"] as const)
      .filter((flag) => hasFlag(c, flag)).join("|") || String(flags);
    described.push(
      `msync(log+${rel}, ${length}, ${flagText})${c.error ? ` = -1 ${c.error}` : ""}`,
    );
    if (c.error) {
      failed++;
      continue;
    }
    if (!hasFlag(c, "MS_SYNC")) {
      asyncOnly++;
      continue;
    }
    if (rel < 0 || rel + length > pages * PS) {
      outside.push(described[described.length - 1]);
      continue;
    }
    for (let p = Math.floor(rel / PS); p < Math.ceil((rel + length) / PS); p++) covered.add(p);
  }
  return { covered, outside, described, asyncOnly, failed, total };
}

async function commitAttempt(ctx: CheckContext, attempt: number): Promise<CommitRun> {
  const pages = ctx.random.int(10, 20);
  const first = ctx.random.int(1, pages - 4);
  const span = ctx.random.int(2, 3);
  // Start in the second half of a page, end in the first half of a later one:
  // the data touches `span` pages, one more than ceil(length / pageSize).
  const startIn = ctx.random.int(PS / 2, PS - 16);
  const endIn = ctx.random.int(16, PS / 2 - 1);
  const offset = first * PS + startIn;
  const end = (first + span - 1) * PS + endIn;
  const data = ctx.random.bytes(end - offset);
  const sequence = ctx.random.int(1000, 1_000_000);
  const content = ctx.random.bytes(pages * PS);
  content.set(marker(sequence - 1, PS, content.subarray(PS, PS + 100)), 0);
  const path = `${ctx.scratch}/log-${attempt}.bin`;
  makeFile(path, content);
  const dataPages = Array.from({ length: span }, (_, i) => first + i);
  const expected = new Set([0, ...dataPages]);
  const params: Params = {
    mode: "commit",
    path,
    offset,
    data: [...data],
    sequence,
    synced: [...expected],
  };
  const child = ctx.spawn("drive.ts", params);
  const run: CommitRun = {
    path,
    content,
    data,
    offset,
    sequence,
    pages,
    dataPages,
    expected,
    result: undefined as unknown as ChildResult,
    attempts: attempt,
  };
  const dirty = await child.checkpoint();
  if (dirty) {
    const where = dirty.data as { address: string; length: number };
    run.address = where.address;
    run.before = sizes(child.pid, where.address, where.length);
    await child.resume();
    const committed = await child.checkpoint();
    if (committed) {
      run.after = sizes(child.pid, where.address, where.length);
      await child.resume();
    }
  }
  run.result = await child.result();
  return run;
}

/** The kernel cleaned pages nobody synced: writeback on its own (memory pressure, a global sync). */
function externalWriteback(run: CommitRun): boolean {
  if (!run.before || !run.after || !run.address || run.result.outcome !== "ok") return false;
  if (run.before.dirty < run.pages) return true;
  const { covered } = syncedPagesOf(run.result.calls, run.address, run.pages);
  return run.after.clean > covered.size;
}

function commitRun(ctx: CheckContext): Promise<CommitRun> {
  return ctx.once("commit", async () => {
    for (let attempt = 1;; attempt++) {
      const run = await commitAttempt(ctx, attempt);
      if (!externalWriteback(run) || attempt === 3) return run;
    }
  });
}

function commitValue(ctx: CheckContext, run: CommitRun): CommitValue {
  return ctx.expectOk(run.result, "commitUpdate") as CommitValue;
}

// ---------------------------------------------------------------- the flags run

interface FlagsRun {
  result: ChildResult;
  asyncPages: number;
  dirtyBefore?: Sizes;
  afterAsync?: Sizes;
  controlBefore?: Sizes;
  controlAfter?: Sizes;
  afterInvalidate?: Sizes;
  fileHeld: number;
  nonce: Uint8Array;
  external: boolean;
}

async function flagsAttempt(ctx: CheckContext, attempt: number): Promise<FlagsRun> {
  const asyncPages = ctx.random.int(4, 8);
  const asyncPath = `${ctx.scratch}/async-${attempt}.bin`;
  const controlPath = `${ctx.scratch}/control-${attempt}.bin`;
  makeFile(asyncPath, ctx.random.bytes(asyncPages * PS));
  makeFile(controlPath, ctx.random.bytes(4 * PS));
  const nonce = new TextEncoder().encode(ctx.random.nonce(24));
  const params: Params = {
    mode: "flags",
    asyncPath,
    controlPath,
    unaligned: ctx.random.int(1, PS - 1),
    nonce: [...nonce],
  };
  const child = ctx.spawn("drive.ts", params);
  const run: FlagsRun = {
    result: undefined as unknown as ChildResult,
    asyncPages,
    fileHeld: 0,
    nonce,
    external: false,
  };
  type Where = Record<"async" | "control", { address: string; length: number }>;
  const read = (w: Where) => ({
    async: sizes(child.pid, w.async.address, w.async.length),
    control: sizes(child.pid, w.control.address, w.control.length),
  });
  const dirty = await child.checkpoint();
  if (dirty) {
    const d = read(dirty.data as Where);
    run.dirtyBefore = d.async;
    run.controlBefore = d.control;
    await child.resume();
    const afterAsync = await child.checkpoint();
    if (afterAsync) {
      const a = read(afterAsync.data as Where);
      run.afterAsync = a.async;
      run.controlAfter = a.control;
      await child.resume();
      const afterInvalidate = await child.checkpoint();
      if (afterInvalidate) {
        run.afterInvalidate = (read(afterInvalidate.data as Where)).async;
        // What any other reader of the file sees now.
        const file = Deno.readFileSync(asyncPath);
        for (let page = 0; page < asyncPages; page++) {
          const got = file.subarray(page * PS + 64, page * PS + 64 + nonce.length);
          if (got.every((b, i) => b === nonce[i])) run.fileHeld++;
        }
        await child.resume();
      }
    }
  }
  run.result = await child.result();
  run.external = run.controlBefore !== undefined &&
    (run.controlBefore.dirty < 4 || (run.controlAfter?.dirty ?? 4) < 4 ||
      (run.dirtyBefore?.dirty ?? asyncPages) < asyncPages);
  return run;
}

function flagsRun(ctx: CheckContext): Promise<FlagsRun> {
  return ctx.once("flags", async () => {
    for (let attempt = 1;; attempt++) {
      const run = await flagsAttempt(ctx, attempt);
      if (!run.external || attempt === 3) return run;
    }
  });
}

// ---------------------------------------------------------------- checks

export default defineChecks([
  {
    id: "page-span",
    title: "pageSpan rounds a byte range out to whole pages",
    points: 1,
    hint: "Round the start down and the end (offset + length) up to a multiple of pageSize; " +
      "the length is end - start. An end that is already a multiple stays where it is.",
    async run(ctx) {
      setup();
      const cases: [number, number, number][] = [
        [0, 1, 4096],
        [4095, 1, 4096],
        [4095, 2, 4096],
        [4096, 4096, 4096],
        [5000, 3192, 4096],
        [8192, 8192, 4096],
        [100, 16384, 16384],
        [3 * 65536 + 5, 10, 65536],
      ];
      for (let i = 0; i < 6; i++) {
        const size = ctx.random.pick([4096, 16384, 65536]);
        cases.push([ctx.random.int(0, 40 * size), ctx.random.int(1, 3 * size), size]);
      }
      const result = await ctx.run("drive.ts", { mode: "span", cases } satisfies Params);
      const { spans } = ctx.expectOk(result, "pageSpan") as {
        spans: { offset: number | null; length: number | null }[];
      };
      cases.forEach(([offset, length, size], i) => {
        const start = Math.floor(offset / size) * size;
        const end = Math.ceil((offset + length) / size) * size;
        const got = spans[i];
        if (got.offset !== start || got.length !== end - start) {
          const gotEnd = (got.offset ?? 0) + (got.length ?? 0);
          let mistake = "round the start down and the end up to multiples of pageSize";
          if (got.offset === start && gotEnd === end + size) {
            mistake = "off by one page: an end that is already page-aligned must not be rounded " +
              "up again (use Math.ceil, not floor + 1); or the length is the rounded end itself " +
              "instead of end - start. Either way you would sync an extra page";
          } else if (got.offset === start && gotEnd === end - size) {
            mistake = "off by one page: the last page the range touches is missing";
          } else if (got.offset === offset && got.length === length) {
            mistake = "the range came back unchanged: round it out to whole pages";
          } else if (got.offset !== start && got.offset === offset) {
            mistake = "the start is not rounded down: msync needs a page-aligned address (EINVAL)";
          } else if (got.length === length) {
            mistake = "the length is the byte count, not the pages from the rounded start to the " +
              "rounded end";
          }
          ctx.fail(`pageSpan(${offset}, ${length}, ${size}) is wrong`, {
            expected: `{"offset":${start},"length":${end - start}}`,
            observed: JSON.stringify(got),
            mistake,
          });
        }
      });
      ctx.note(`${cases.length} ranges rounded out right, with page sizes 4, 16 and 64 KiB`);
    },
  },
  {
    id: "commit-lands",
    title: "commitUpdate puts the data and the marker in the file",
    points: 1,
    hint: "Copy data into log.bytes at offset, and encodeMarker(sequence, offset, data) at 0.",
    async run(ctx) {
      setup();
      const run = await commitRun(ctx);
      commitValue(ctx, run);
      const file = Deno.readFileSync(run.path);
      const { offset, data, content } = run;
      const got = file.subarray(offset, offset + data.length);
      const same = got.every((b, i) => b === data[i]);
      if (!same) {
        const untouched = got.every((b, i) => b === content[offset + i]);
        ctx.fail("the file does not hold the new data at the offset", {
          expected: `${data.length} new bytes at offset ${offset}`,
          observed: untouched ? "the old bytes, unchanged" : "other bytes",
          mistake: untouched
            ? "nothing was written to log.bytes (a copy such as log.bytes.slice()?)"
            : "wrong offset, or only part of the data copied",
        });
      }
      const want = marker(run.sequence, offset, data);
      const have = file.subarray(0, 16);
      if (hex(want) !== hex(have)) {
        ctx.fail("the commit marker at the start of the file is wrong", {
          expected: describeMarker(want),
          observed: describeMarker(have),
          mistake: hex(have) === hex(content.subarray(0, 16))
            ? "the marker was never written: log.bytes.set(encodeMarker(…), 0)"
            : "encodeMarker(sequence, offset, data) with this update's values, at offset 0",
        });
      }
      for (let i = 16; i < file.length; i++) {
        if (i >= offset && i < offset + data.length) continue;
        if (file[i] !== content[i]) {
          ctx.fail(`byte ${i} changed, outside the data and the marker`, {
            expected: "every other byte as it was",
            observed: `byte ${i} (page ${Math.floor(i / PS)}) differs`,
            mistake: "writing more than the data, or at the wrong place",
          });
        }
      }
      ctx.note(`${data.length} bytes at offset ${offset} and the marker (${describeMarker(want)})`);
    },
  },
  {
    id: "syncs-exact-pages",
    title: "commitUpdate msyncs (MS_SYNC) exactly the pages it changed",
    points: 2,
    parent: "commit-lands",
    hint: "Two msyncs: the data's pages (pageSpan(offset, data.length, log.pageSize) is that " +
      "range), then page 0 alone. log.sync({ offset, length }) is MS_SYNC of that range; " +
      'log.sync() with no range is the whole mapping, and mode: "async" is MS_ASYNC.',
    async run(ctx) {
      setup();
      const run = await commitRun(ctx);
      const value = commitValue(ctx, run);
      const s = syncedPagesOf(run.result.calls, value.address, run.pages);
      ctx.note(`your msync calls: ${s.described.join("; ") || "none"}`);
      ctx.note(`this update changed ${pageList(run.expected)} (page 0 holds the marker)`);
      if (s.total === 0) {
        // No msync: were the pages written back anyway? fsync/fdatasync through sys are in the
        // call record; Deno's FsFile.syncSync()/syncDataSync() are not, but smaps shows the
        // pages clean again (the drive dirtied every page of the log before the call).
        const fileSyncs = callsTo(run.result.calls, "fsync", "fdatasync", "sync_file_range");
        const cleaned = run.before && run.after ? run.before.dirty - run.after.dirty : 0;
        if (fileSyncs.length > 0 || cleaned > run.expected.size) {
          ctx.fail("commitUpdate made no msync call, but synced the whole file another way", {
            expected: `msync(MS_SYNC) of ${pageList(run.expected)}, nothing more`,
            observed: (fileSyncs.length
              ? `${
                fileSyncs.map((c) => c.call).join(", ")
              } of the file; `
              : "no fsync through sys (FsFile.syncDataSync()/syncSync() are not in the call " +
                "record); ") +
              `/proc/PID/smaps: ${run.before!.dirty} dirty pages of the log before, ` +
              `${run.after!.dirty} after (the update touched ${run.expected.size})`,
            mistake: "syncing the whole file (fsync/fdatasync): durable, but it writes every " +
              `dirty page of the file, here ${
                Math.max(0, cleaned - run.expected.size)
              } other pending writes the update never touched: on a big file that is slow, and ` +
              "not what the commit needs. msync (MS_SYNC) the data's pages, then page 0",
          });
        }
        ctx.fail("commitUpdate made no msync call", {
          expected: `msync(MS_SYNC) of ${pageList(run.expected)}`,
          observed: "no msync",
          mistake: "no msync: every process sees the update at once, but nothing forced it to " +
            "disk; a power cut loses it, marker and all",
        });
      }
      if (s.asyncOnly > 0) {
        ctx.fail(`${s.asyncOnly} msync call(s) used MS_ASYNC`, {
          expected: "MS_SYNC",
          observed: s.described.join("; "),
          mistake: "MS_ASYNC is a no-op on Linux (since 2.6.19): it writes nothing and waits for " +
            "nothing, so the update is no more durable than without msync",
        });
      }
      if (s.failed > 0) {
        ctx.fail(`${s.failed} msync call(s) failed`, {
          observed: s.described.join("; "),
          mistake: "an address that is not page-aligned is EINVAL: start at a page boundary",
        });
      }
      if (s.outside.length) {
        ctx.fail("msync of memory outside the log mapping", {
          observed: s.outside.join("; "),
          mistake: "sync ranges relative to the log: log.sync({ offset, length })",
        });
      }
      const missing = [...run.expected].filter((p) => !s.covered.has(p));
      const extra = [...s.covered].filter((p) => !run.expected.has(p));
      if (missing.length) {
        const last = run.dataPages[run.dataPages.length - 1];
        ctx.fail(`${pageList(missing)} of the update never got synced`, {
          expected: pageList(run.expected),
          observed: pageList(s.covered),
          mistake: missing.includes(0)
            ? "the marker page (page 0) was not synced: the marker is not durable"
            : missing.includes(last)
            ? `the last page the data touches (${last}) is missing: the data starts mid-page, ` +
              "so the rounded start + data.length falls short of its end; round the end " +
              "(offset + length) up instead: pageSpan"
            : "sync every page the data touches: pageSpan(offset, data.length, pageSize)",
        });
      }
      if (extra.length) {
        ctx.fail(`msync covered ${pageList(extra)}, which the update did not change`, {
          expected: pageList(run.expected),
          observed: pageList(s.covered),
          mistake: extra.length >= run.pages - run.expected.size
            ? "syncing the whole file: it writes every dirty page (here, other pending writes " +
              "too): on a big file that is slow, and it is not what the commit needs"
            : "off by one page: sync the page-aligned span of the data, nothing more",
        });
      }
    },
  },
  {
    id: "marker-after-data",
    title: "the marker is written only after the data is on disk, and synced last",
    points: 2,
    parent: "syncs-exact-pages",
    hint: "Order: write data → msync the data pages → write the marker → msync page 0. " +
      "Never write the marker before the data's msync has returned.",
    async run(ctx) {
      setup();
      const run = await commitRun(ctx);
      const value = commitValue(ctx, run);
      const base = BigInt(value.address);
      const newMarker = hex(marker(run.sequence, run.offset, run.data));
      const syncs = value.snapshots.filter((s) => !s.error && (s.flags & MS.SYNC));
      const pagesOf = (s: SyncSnapshot) => {
        const rel = Number(BigInt(s.addr ?? "0") - base);
        const out: number[] = [];
        for (let p = Math.floor(rel / PS); p < Math.ceil((rel + s.length) / PS); p++) out.push(p);
        return out;
      };
      const story = syncs.map((s, i) =>
        `#${i + 1} msync of ${pageList(pagesOf(s))}: data ${s.data}, marker ${
          s.marker === newMarker ? "new" : "old"
        }`
      );
      ctx.note(`what another reader of the file saw at each msync: ${story.join("; ")}`);
      // When did each data page become durable with the new bytes?
      let dataDurable = -1;
      for (const page of run.dataPages) {
        const at = syncs.findIndex((s) => s.data === "new" && pagesOf(s).includes(page));
        if (at < 0) {
          ctx.fail(`data page ${page} was never synced after the data was written`, {
            observed: story.join("; "),
            mistake: "msync before writing the data syncs the old bytes: write first, then sync",
          });
        }
        if (syncs[at].marker === newMarker) {
          ctx.fail("the marker was already written when the data was synced", {
            expected: "data synced while the marker still held the previous commit",
            observed: story.join("; "),
            mistake: pagesOf(syncs[at]).includes(0)
              ? "one msync covered data and marker together: msync gives no order among the " +
                "pages it writes, so the marker can reach the disk before the data"
              : "the marker was written before the data's msync: the kernel may write the " +
                "marker page back at any moment (writeback, memory pressure), so a power cut " +
                "before the data's msync returns leaves a marker pointing at data that never " +
                "reached the disk",
          });
        }
        dataDurable = Math.max(dataDurable, at);
      }
      const markerSync = syncs.findIndex((s, i) =>
        i > dataDurable && s.marker === newMarker && pagesOf(s).includes(0)
      );
      if (markerSync < 0) {
        ctx.fail("the marker was not synced after it was written", {
          expected: "an msync of page 0 after the marker was written",
          observed: story.join("; "),
          mistake: "msync page 0 after writing the marker (syncing it before writes the old one)",
        });
      }
      ctx.note("order: data written → data synced → marker written → marker synced");
    },
  },
  {
    id: "pages-clean",
    title: "after commitUpdate the kernel shows exactly the synced pages clean (smaps)",
    points: 2,
    parent: "syncs-exact-pages",
    hint: "A page written after its msync is dirty again: sync the marker page after writing it.",
    async run(ctx) {
      setup();
      requireDiskBacked(ctx);
      const run = await commitRun(ctx);
      commitValue(ctx, run);
      const { before, after } = run;
      if (!before || !after) return ctx.fail("the drive ended before its checkpoints");
      const n = run.expected.size;
      ctx.note(
        `smaps of the log (${run.pages} pages): before commitUpdate ${before.dirty} dirty / ` +
          `${before.clean} clean; after: ${after.dirty} dirty / ${after.clean} clean`,
      );
      if (externalWriteback(run)) {
        ctx.fail("the kernel wrote pages back on its own during all 3 attempts", {
          observed: `before: ${before.dirty} dirty of ${run.pages}; after: ${after.clean} ` +
            "clean",
          mistake: "not yours: memory pressure or a global sync() on this machine; run again",
        });
      }
      if (after.clean !== n || after.dirty !== run.pages - n) {
        ctx.fail(`${after.clean} page(s) clean after commitUpdate, expected ${n}`, {
          expected: `${n} clean (${pageList(run.expected)}), ${run.pages - n} still dirty`,
          observed: `${after.clean} clean, ${after.dirty} dirty`,
          mistake: after.clean < n
            ? "a synced page was written again afterwards (the marker written after its msync?), " +
              "so it is dirty again and not on disk"
            : "more pages than the update were written back",
        });
      }
      if (run.attempts > 1) {
        ctx.note(`(${run.attempts} runs: the kernel's own writeback interfered)`);
      }
    },
  },
  {
    id: "predict-rewrite-faults",
    title: "predicted: write faults when re-writing a synced page and a dirty page",
    points: 1,
    parent: "pages-clean",
    hint: "After msync a page is clean. A store is not a system call: how could the kernel " +
      "find out that the page was written again? And is there anything to find out for a page " +
      'that is still dirty? (The lesson\'s "After your predictions" explains it: read it once you ' +
      "have predicted.)",
    async run(ctx) {
      setup();
      const run = await commitRun(ctx);
      const value = commitValue(ctx, run);
      const synced = requirePrediction(ctx, value.predictions.PREDICTED_REWRITE_FAULTS_SYNCED, {
        name: "PREDICTED_REWRITE_FAULTS_SYNCED",
        allowed: "number",
      });
      const dirty = requirePrediction(ctx, value.predictions.PREDICTED_REWRITE_FAULTS_DIRTY, {
        name: "PREDICTED_REWRITE_FAULTS_DIRTY",
        allowed: "number",
      });
      // The fewest any page took: a stray fault of the JS engine (a fresh page of its heap) only
      // ever adds to one page's count, never takes one away. (Rounding the mean let 6 faults for
      // 4 pages under load read as 2 per page.)
      const fewest = (list: number[]) => list.length ? Math.min(...list) : 0;
      const perSynced = fewest(value.syncedFaultList);
      const perDirty = fewest(value.otherFaultList);
      ctx.note(
        `you predicted ${synced} fault(s) per synced page; the kernel took ${value.syncedFaults} ` +
          `for ${value.syncedPages} pages (${perSynced} per page)`,
      );
      ctx.note(
        `you predicted ${dirty} per still-dirty page; the kernel took ${value.otherFaults} for ` +
          `${value.otherPages} pages (${perDirty} per page)`,
      );
      if (synced !== perSynced || dirty !== perDirty) {
        ctx.fail("a prediction differs from what the kernel did", {
          expected: `${perSynced} per synced page, ${perDirty} per dirty page`,
          observed: `your predictions: ${synced} and ${dirty}`,
          mistake: "writeback write-protects the pages it cleans, to see the next write " +
            "(that is how the kernel knows the page is dirty again)",
        });
      }
    },
  },
  {
    id: "predict-msync-flags",
    title: "predicted: MS_ASYNC, MS_INVALIDATE and an unaligned address",
    points: 2,
    hint: 'The lesson\'s "msync and its flags", NOTES and ERRORS in man 2 msync, and ' +
      "mm/msync.c if you like: which flags make the kernel do any work?",
    async run(ctx) {
      setup();
      requireDiskBacked(ctx);
      const run = await flagsRun(ctx);
      const value = ctx.expectOk(run.result, "the msync experiments") as {
        held: number;
        pages: number;
        unaligned: string;
        predictions: Record<string, unknown>;
      };
      if (run.external) {
        ctx.fail("the kernel wrote pages back on its own during all 3 attempts", {
          mistake: "not yours: memory pressure or a global sync() on this machine; run again",
        });
      }
      // Predictions first: the observations are shown only once you have predicted.
      const predicted = {
        PREDICTED_ASYNC_CLEANS_PAGES: requirePrediction(
          ctx,
          value.predictions.PREDICTED_ASYNC_CLEANS_PAGES,
          { name: "PREDICTED_ASYNC_CLEANS_PAGES", allowed: "boolean" },
        ),
        PREDICTED_INVALIDATE_DROPS_WRITES: requirePrediction(
          ctx,
          value.predictions.PREDICTED_INVALIDATE_DROPS_WRITES,
          { name: "PREDICTED_INVALIDATE_DROPS_WRITES", allowed: "boolean" },
        ),
        PREDICTED_UNALIGNED_MSYNC: requirePrediction(
          ctx,
          value.predictions.PREDICTED_UNALIGNED_MSYNC,
          { name: "PREDICTED_UNALIGNED_MSYNC", allowed: "string" },
        ),
      };
      const before = run.dirtyBefore!, after = run.afterAsync!;
      const asyncCleans = after.clean > before.clean;
      const dropped = !(value.held === value.pages && run.fileHeld === value.pages);
      const observed = {
        PREDICTED_ASYNC_CLEANS_PAGES: asyncCleans,
        PREDICTED_INVALIDATE_DROPS_WRITES: dropped,
        PREDICTED_UNALIGNED_MSYNC: value.unaligned,
      };
      ctx.note(
        `MS_ASYNC on ${run.asyncPages} dirty pages: smaps ${before.dirty} dirty / ${before.clean} ` +
          `clean before, ${after.dirty} / ${after.clean} after: cleans pages = ${asyncCleans}`,
      );
      ctx.note(
        `MS_ASYNC|MS_INVALIDATE after new unsynced bytes: your mapping still held them on ` +
          `${value.held}/${value.pages} pages, the file (read by the checker) on ` +
          `${run.fileHeld}/${value.pages}: writes dropped = ${dropped}`,
      );
      ctx.note(`msync at a page address + a few bytes: ${value.unaligned}`);
      const wrong: string[] = [];
      for (const [name, kernel] of Object.entries(observed)) {
        const guess = predicted[name as keyof typeof predicted];
        ctx.note(`${name}: you predicted ${JSON.stringify(guess)}, the kernel did ${kernel}`);
        if (guess !== kernel) wrong.push(`${name} (kernel: ${JSON.stringify(kernel)})`);
      }
      if (wrong.length) {
        ctx.fail(`predicted wrong: ${wrong.join(", ")}`, {
          mistake: "MS_ASYNC is a no-op on Linux since 2.6.19 (dirty pages are written back " +
            "anyway); MS_INVALIDATE only fails with EBUSY on locked memory; msync's address must " +
            "be page-aligned (EINVAL otherwise)",
        });
      }
    },
  },
  {
    id: "predict-kill",
    title: "predicted: does SIGKILL lose writes made to a shared mapping without msync?",
    points: 1,
    hint: "Whose memory is the page cache: the process's or the kernel's?",
    async run(ctx) {
      setup();
      const pages = ctx.random.int(2, 6);
      const path = `${ctx.scratch}/kill.bin`;
      makeFile(path, ctx.random.bytes(pages * PS));
      const nonce = new TextEncoder().encode(`killed-${ctx.random.nonce(20)}`);
      const offset = ctx.random.int(0, pages * PS - nonce.length);
      const child = ctx.spawn(
        "drive.ts",
        {
          mode: "kill",
          path,
          offset,
          nonce: [...nonce],
        } satisfies Params,
      );
      const written = await child.checkpoint();
      if (!written) {
        ctx.expectOk(await child.result(), "the kill experiment");
        return ctx.fail("the drive ended before its checkpoint");
      }
      const data = written.data as {
        address: string;
        length: number;
        predictions: Record<string, unknown>;
      };
      const predicted = requirePrediction(ctx, data.predictions.PREDICTED_KILL_LOSES_WRITES, {
        name: "PREDICTED_KILL_LOSES_WRITES",
        allowed: "boolean",
      });
      const dirty = sizes(child.pid, data.address, data.length);
      child.kill("SIGKILL");
      const result = await child.result();
      const file = Deno.readFileSync(path);
      const survived = file.subarray(offset, offset + nonce.length).every((b, i) => b === nonce[i]);
      ctx.note(
        `the child wrote ${nonce.length} bytes at offset ${offset} (smaps: ${dirty.dirty} dirty ` +
          `page(s), no msync), then died by ${result.signal ?? result.outcome}; the checker read ` +
          `the file: the bytes are ${survived ? "there" : "gone"}`,
      );
      ctx.note(`you predicted loses writes = ${predicted}; the kernel: ${!survived}`);
      if (predicted !== !survived) {
        ctx.fail("the prediction differs from what the kernel did", {
          expected: `PREDICTED_KILL_LOSES_WRITES = ${!survived} (what the kernel did)`,
          observed: `PREDICTED_KILL_LOSES_WRITES = ${predicted} (your prediction)`,
          mistake: "the dirty pages belong to the page cache, the kernel's: a killed process " +
            "loses nothing it stored in a shared mapping. Only a crash of the whole machine " +
            "(power cut, kernel panic) loses what was not yet written back or msynced",
        });
      }
    },
  },
]);
