/**
 * Checks of lab 02: records updated in place through a MAP_SHARED mapping,
 * seen by another process before any msync; the data outlives munmap, the
 * writer's exit and even a SIGKILL; the file grows with ftruncate before
 * more of it is mapped; a store past the end dies with SIGBUS.
 *
 * Evidence: the file's bytes, size and mtime, read by the checker (another
 * process) while the child is paused at a checkpoint with the mapping still
 * there; `/proc/PID/maps` and `/proc/PID/io` of the child; the call record;
 * the signal that ended a child. Record counts, indices and contents are
 * random each run.
 *
 * @module
 */

import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildHandle,
  type ChildResult,
  defineChecks,
  fileSystemOf,
  hasFlag,
  type IoCounters,
  type MapsEntry,
  procIo,
  procMaps,
  requirePrediction,
  said,
  succeeded,
  sys,
} from "../../../lib/checker/mod.ts";
import type {
  CrashParams,
  Item,
  KillParams,
  MainParams,
  MappedData,
  Predictions,
} from "./drive.ts";

const PAGE = sys.pageSize();
const RECORD = 32;
const encoder = new TextEncoder();

/** The checker's own encoding of a record (the same layout as the stub's `encodeItem`). */
function encode(item: Item): Uint8Array {
  const out = new Uint8Array(RECORD);
  const view = new DataView(out.buffer);
  view.setUint32(0, item.id, true);
  view.setInt32(4, item.count, true);
  out.set(encoder.encode(item.name), 8);
  return out;
}

function decode(bytes: Uint8Array): Item {
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD);
  const name = bytes.subarray(8, RECORD);
  const end = name.indexOf(0);
  return {
    id: view.getUint32(0, true),
    count: view.getInt32(4, true),
    name: new TextDecoder().decode(end === -1 ? name : name.subarray(0, end)),
  };
}

function randomItem(ctx: CheckContext, prefix = ""): Item {
  return {
    id: ctx.random.int(1, 2 ** 32 - 1),
    count: ctx.random.int(-1000, 100_000),
    name: prefix + ctx.random.nonce(ctx.random.int(4, 20 - prefix.length)),
  };
}

function table(items: Item[]): Uint8Array {
  const out = new Uint8Array(items.length * RECORD);
  items.forEach((item, i) => out.set(encode(item), i * RECORD));
  return out;
}

function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Record numbers whose bytes differ between `a` and `b` (over the shorter length). */
function differing(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  const n = Math.floor(Math.min(a.length, b.length) / RECORD);
  for (let r = 0; r < n; r++) {
    for (let i = r * RECORD; i < (r + 1) * RECORD; i++) {
      if (a[i] !== b[i]) {
        out.push(r);
        break;
      }
    }
  }
  return out;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function show(item: Item): string {
  return `{id ${item.id}, count ${item.count}, "${item.name}"}`;
}

function areasOf(pid: number, path: string): MapsEntry[] {
  return procMaps(pid).filter((a) => a.path === path);
}

function areaText(areas: MapsEntry[]): string {
  return areas.map((a) => `${fmt(Number(a.end - a.start))} bytes ${a.perms}`).join("; ") ||
    "no area";
}

// ---------------------------------------------------------------------------
// The main run: open, update, append, close; observed at every checkpoint.

interface Stage {
  /** The libc calls made since the previous checkpoint. */
  made: CallRecord[];
  /** The file's bytes as the checker read them with read(). */
  file: Uint8Array;
  /** Areas of the file in the child's /proc/PID/maps. */
  areas: MapsEntry[];
  io: IoCounters;
  /** Bytes of protocol lines the harness had written by then (see ChildHandle.protocolBytes). */
  protocolBytes: number;
}

interface MainRun {
  path: string;
  initial: Uint8Array;
  afterUpdates: Uint8Array;
  final: Uint8Array;
  updates: { index: number; item: Item }[];
  appends: Item[];
  oldMtime: Date;
  predictions?: Predictions;
  opened?: Stage & MappedData;
  updated?: Stage & { mtime: Date | null };
  appended?: Stage & MappedData & { size: number };
  closed?: { areas: MapsEntry[] };
  afterExit?: Uint8Array;
  result: ChildResult;
}

async function observe(
  child: ChildHandle,
  path: string,
  name: string,
): Promise<{ data: unknown; stage: Stage } | undefined> {
  const cp = await child.checkpoint();
  if (cp?.name !== name) return undefined;
  const data = (cp.data ?? {}) as { made?: CallRecord[] };
  const stage: Stage = {
    made: data.made ?? [],
    file: Deno.readFileSync(path),
    areas: areasOf(child.pid, path),
    io: procIo(child.pid),
    protocolBytes: child.protocolBytes,
  };
  return { data: cp.data, stage };
}

function mainRun(ctx: CheckContext): Promise<MainRun> {
  return ctx.once<MainRun>("main", async () => {
    const count = ctx.random.int(100, 600);
    const items = Array.from({ length: count }, () => randomItem(ctx));
    const initial = table(items);
    const path = Deno.realPathSync(ctx.file("stock.db", initial));
    const oldMtime = new Date(Date.UTC(2001, 0, 1) + ctx.random.int(0, 3e8) * 1000); // 2001-2010
    Deno.utimeSync(path, oldMtime, oldMtime);

    const indices = new Set<number>();
    const wanted = ctx.random.int(20, Math.min(40, count - 5));
    while (indices.size < wanted) indices.add(ctx.random.int(0, count - 1));
    indices.add(count - 1); // the last record too
    const updates = [...indices].map((index) => ({ index, item: randomItem(ctx, "upd-") }));
    const after = [...items];
    for (const u of updates) after[u.index] = u.item;
    const appends = Array.from({ length: ctx.random.int(150, 300) }, () => randomItem(ctx, "new-"));

    const params: MainParams = { step: "main", path, updates, appends };
    const child = ctx.spawn("drive.ts", params);
    const run: Omit<MainRun, "result"> = {
      path,
      initial,
      afterUpdates: table(after),
      final: table([...after, ...appends]),
      updates,
      appends,
      oldMtime,
    };
    const start = await child.checkpoint();
    if (start?.name === "start") {
      run.predictions = start.data as Predictions;
      await child.resume();
      const opened = await observe(child, path, "opened");
      if (opened) {
        run.opened = { ...opened.stage, ...(opened.data as MappedData) };
        await child.resume();
        const updated = await observe(child, path, "updated");
        if (updated) {
          run.updated = { ...updated.stage, mtime: Deno.statSync(path).mtime };
          await child.resume();
          const appended = await observe(child, path, "appended");
          if (appended) {
            run.appended = {
              ...appended.stage,
              ...(appended.data as MappedData),
              size: Deno.statSync(path).size,
            };
            await child.resume();
            const closed = await child.checkpoint();
            if (closed?.name === "closed") {
              run.closed = { areas: areasOf(child.pid, path) };
              await child.resume();
            }
          }
        }
      }
    }
    const result = await child.result();
    if (result.outcome === "ok") run.afterExit = Deno.readFileSync(path);
    return { ...run, result };
  });
}

/** Fails with how the child ended, when it ended before the stage a check needs. */
function ended(ctx: CheckContext, run: MainRun, doing: string, mistake?: string): never {
  const r = run.result;
  if (r.outcome === "ok") ctx.fail(`${doing}: the child finished without reaching the checkpoint`);
  if (r.outcome === "threw" && r.error) {
    ctx.fail(`${doing}: your code threw ${r.error.name}: ${r.error.message}`, { mistake });
  }
  ctx.expectOk(r, doing);
  throw new Error("unreachable");
}

function mmapsIn(calls: CallRecord[]): CallRecord[] {
  return succeeded(calls, "mmap");
}

export default defineChecks([
  {
    id: "maps-shared",
    title: "openTable maps the whole file shared and read-write",
    points: 2,
    hint: 'mapFile(path, { access: "readwrite" }): MAP_SHARED is the default mode.',
    async run(ctx: CheckContext) {
      const run = await mainRun(ctx);
      if (!run.opened) ended(ctx, run, "openTable");
      const m = mmapsIn(run.opened.made).at(-1);
      const perms = run.opened.areas[0]?.perms ?? "none";
      if ((m && hasFlag(m, "MAP_PRIVATE")) || perms.endsWith("p")) {
        ctx.fail("the file is mapped MAP_PRIVATE", {
          expected: "MAP_SHARED (rw-s in /proc/PID/maps)",
          observed: `${perms} in /proc/PID/maps`,
          mistake:
            'mode "private" (MAP_PRIVATE): writes go to private copies of the pages (copy-on-write) and never reach the file',
        });
      }
      if (!m || !hasFlag(m, "PROT_WRITE") || !perms.startsWith("rw")) {
        ctx.fail("the mapping is not writable", {
          expected: "PROT_READ|PROT_WRITE (rw-s in /proc/PID/maps)",
          observed: `${perms} in /proc/PID/maps`,
          mistake:
            'access "read": a store into a read-only mapping dies with SIGSEGV; ask for "readwrite"',
        });
      }
      const size = run.initial.length;
      const area = run.opened.areas.reduce((s, a) => s + Number(a.end - a.start), 0);
      if (run.opened.length !== size || area < size) {
        ctx.fail("the mapping does not cover the whole file", {
          expected: `${fmt(size)} bytes (${size / RECORD} records)`,
          observed: `a mapping of ${fmt(run.opened.length)} bytes`,
          mistake: "map the whole file: leave out offset and length",
        });
      }
      ctx.note(`/proc/PID/maps: ${areaText(run.opened.areas)} for ${fmt(size)}-byte stock.db`);
    },
  },
  {
    id: "updates-in-place",
    title:
      "updateRecord stores each record in place; the checker reads the file with your mapping alive, before any msync",
    points: 3,
    parent: "maps-shared",
    hint:
      "table.bytes.set(encodeItem(item), index * RECORD_SIZE): the record's 32 bytes, at its place. No msync.",
    async run(ctx: CheckContext) {
      const run = await mainRun(ctx);
      // What the checker read is the answer to PREDICTED_SEEN_BEFORE_MSYNC: predict first.
      if (run.predictions) {
        requirePrediction(ctx, run.predictions.seenBeforeMsync, {
          name: "PREDICTED_SEEN_BEFORE_MSYNC",
          allowed: "boolean",
        });
      }
      if (!run.updated) {
        ended(
          ctx,
          run,
          "updateRecord",
          run.result.error?.name === "RangeError"
            ? `a store past the end of the table: record k starts at byte k * RECORD_SIZE, and the last one is ${
              run.initial.length / RECORD - 1
            } (off by one record?)`
            : undefined,
        );
      }
      const seen = run.updated.file;
      const early = [...run.opened!.made, ...run.updated.made];
      const syncs = callsTo(early, "msync");
      if (syncs.length > 0) {
        ctx.fail(`msync was called ${syncs.length} time(s) before the checker looked`, {
          mistake:
            "msync is not needed for other processes to see a MAP_SHARED write (it is about reaching the disk): leave it out here",
        });
      }
      if (run.updated.areas.length === 0) {
        ctx.fail("the table was no longer mapped after updateRecord", {
          mistake: "updateRecord must not unmap the table: the caller keeps using it",
        });
      }
      if (seen.length !== run.initial.length) {
        ctx.fail("the file's size changed", {
          expected: `${fmt(run.initial.length)} bytes`,
          observed: `${fmt(seen.length)} bytes`,
          mistake: "updating in place never changes the size",
        });
      }
      if (!same(seen, run.afterUpdates)) {
        const wrong = differing(seen, run.afterUpdates);
        const untouched = same(seen, run.initial);
        const updated = new Set(run.updates.map((u) => u.index));
        const r = wrong[0];
        const got = decode(seen.subarray(r * RECORD, (r + 1) * RECORD));
        const want = decode(run.afterUpdates.subarray(r * RECORD, (r + 1) * RECORD));
        const shifted = run.updates.find((u) =>
          u.index + 1 < run.initial.length / RECORD &&
          same(seen.subarray((u.index + 1) * RECORD, (u.index + 2) * RECORD), encode(u.item))
        );
        ctx.fail(
          untouched
            ? "the file does not show any update"
            : `record ${r} is wrong (${wrong.length} record(s) differ)`,
          {
            expected: untouched ? "the updated records" : show(want),
            observed: untouched ? "the file as it was" : show(got),
            mistake: untouched
              ? "nothing reached the file: a private mapping, or the stores went to a copy (not table.bytes)?"
              : shifted
              ? "off by one record: record k starts at byte k * RECORD_SIZE"
              : updated.has(r)
              ? "write the 32 bytes of encodeItem(item) at index * RECORD_SIZE"
              : "a record that was not updated changed: write exactly 32 bytes at index * RECORD_SIZE",
          },
        );
      }
      ctx.note(
        `read by the checker (another process) before any msync, with the mapping still there: ` +
          `all ${run.updates.length} updated records`,
      );
      const mtime = run.updated.mtime;
      const disk = fileSystemOf(run.path);
      if (mtime && mtime.getTime() > run.oldMtime.getTime()) {
        ctx.note(
          `mtime moved from ${run.oldMtime.toISOString()} to ${mtime.toISOString()} ` +
            `with no write(): the first store into each page is a write fault, and the kernel updates it there`,
        );
      } else if (disk.diskBacked) {
        ctx.fail("the file's mtime did not change", {
          expected: `later than ${run.oldMtime.toISOString()}`,
          observed: mtime?.toISOString() ?? "unknown",
          mistake: "the stores did not go through the shared mapping",
        });
      }
    },
  },
  {
    id: "predicts-visibility",
    title: "your prediction: does another process see the write before msync?",
    points: 1,
    parent: "updates-in-place",
    hint:
      "What is in table.bytes: a copy of the file, or the page cache that every read() reads from?",
    async run(ctx: CheckContext) {
      const run = await mainRun(ctx);
      const predicted = requirePrediction(ctx, run.predictions?.seenBeforeMsync, {
        name: "PREDICTED_SEEN_BEFORE_MSYNC",
        allowed: "boolean",
      });
      const observed = same(run.updated?.file, run.afterUpdates);
      const saw = `the checker read the file with read() while your mapping was alive, before ` +
        `any msync, and ${
          observed ? "saw" : "did not see"
        } the ${run.updates.length} updated records`;
      if (predicted !== observed) {
        ctx.fail(
          "your prediction differs from what the kernel did: PREDICTED_SEEN_BEFORE_MSYNC. Look " +
            "at where a MAP_SHARED mapping's pages live (man 2 mmap, MAP_SHARED) and read the " +
            'lesson\'s last section, "After your predictions"',
          {
            expected: `${observed}: ${saw}`,
            observed: `you predicted ${predicted}`,
            mistake: "a MAP_SHARED mapping's pages are the page cache itself: read() in another " +
              "process reads those very pages; msync only writes them to the disk",
          },
        );
      }
      ctx.note(`you predicted ${predicted}; ${saw}`);
    },
  },
  {
    id: "survives",
    title: "the records outlive munmap and the writer, even one killed with SIGKILL",
    points: 2,
    parent: "updates-in-place",
    hint:
      "Nothing to add if your updates go into table.bytes of a shared mapping: the page cache keeps them.",
    async run(ctx: CheckContext) {
      // A second writer: one store, munmap, look; another store, SIGKILL, look.
      const items = Array.from({ length: ctx.random.int(10, 60) }, () => randomItem(ctx));
      const path = Deno.realPathSync(ctx.file("killed.db", table(items)));
      const a = ctx.random.int(0, items.length - 1);
      const b = (a + ctx.random.int(1, items.length - 1)) % items.length;
      const first = { index: a, item: randomItem(ctx, "unmap-") };
      const second = { index: b, item: randomItem(ctx, "kill-") };
      const params: KillParams = { step: "kill", path, first, second };
      const holds = (file: Uint8Array, u: { index: number; item: Item }) =>
        same(file.subarray(u.index * RECORD, (u.index + 1) * RECORD), encode(u.item));
      const child = ctx.spawn("drive.ts", params);

      if ((await child.checkpoint())?.name !== "unmapped") {
        ctx.expectOk(await child.result(), "openTable + updateRecord + unmap");
      }
      const afterUnmap = Deno.readFileSync(path);
      const left = areasOf(child.pid, path);
      if (!holds(afterUnmap, first)) {
        ctx.fail("a record stored through the mapping was gone after munmap", {
          expected: show(first.item),
          observed: show(decode(afterUnmap.subarray(a * RECORD, (a + 1) * RECORD))),
          mistake: "the store must go into the shared mapping itself (table.bytes)",
        });
      }
      await child.resume();

      if ((await child.checkpoint())?.name !== "written") {
        ctx.expectOk(await child.result(), "openTable + updateRecord, a second time");
      }
      child.kill("SIGKILL");
      const killed = await child.result();
      const afterKill = Deno.readFileSync(path);
      if (!holds(afterKill, second)) {
        ctx.fail(`a writer killed with ${killed.signal ?? "SIGKILL"} lost its record`, {
          expected: show(second.item),
          observed: show(decode(afterKill.subarray(b * RECORD, (b + 1) * RECORD))),
          mistake: "the store must go into the shared mapping itself (table.bytes)",
        });
      }
      ctx.note(
        `record ${a} was in the file after munmap (${
          left.length === 0 ? "no longer mapped at all" : `${left.length} area(s) still mapped`
        }); ` +
          `record ${b} was there after a SIGKILL right after the store: no munmap, no msync, no exit`,
      );
      const run = await mainRun(ctx);
      if (run.afterExit && same(run.afterExit, run.final)) {
        ctx.note("the main run's writer exited normally: every record still in the file");
      }
    },
  },
  {
    id: "grows-file",
    title: "appendRecords grows the file with ftruncate, maps it again, and unmaps the old mapping",
    points: 3,
    parent: "maps-shared",
    hint:
      "resizeFile(path, (old + new) * RECORD_SIZE) (ftruncate), then table.unmap() and mapFile again: a mapping does not grow with its file.",
    async run(ctx: CheckContext) {
      const run = await mainRun(ctx);
      const oldCount = run.initial.length / RECORD;
      const newSize = run.final.length;
      if (!run.appended) {
        if (!run.updated) ended(ctx, run, "updateRecord (before appendRecords)");
        const r = run.result;
        ended(
          ctx,
          run,
          "appendRecords",
          r.outcome === "threw" && r.error?.name === "RangeError"
            ? "the old mapping does not grow with the file: after ftruncate, unmap it and map the file again"
            : r.outcome === "signal" && r.signal === "SIGBUS"
            ? `stores past the end of the file: grow it with ftruncate (resizeFile) to ${
              fmt(newSize)
            } bytes first`
            : undefined,
        );
      }
      const a = run.appended;
      const truncates = succeeded(a.made, "ftruncate");
      if (a.size !== newSize) {
        ctx.fail("the file has the wrong size after appendRecords", {
          expected: `${fmt(newSize)} bytes (${oldCount} + ${run.appends.length} records)`,
          observed: `${fmt(a.size)} bytes`,
          mistake: truncates.length === 0
            ? "the file never grew: ftruncate it (resizeFile) before mapping past its end"
            : "grow it to exactly (old + new) * RECORD_SIZE bytes",
        });
      }
      if (!truncates.some((c) => c.args.length === newSize)) {
        ctx.fail("no ftruncate to the new size", {
          expected: `ftruncate(fd, ${newSize})`,
          observed: truncates.map((c) => `ftruncate(fd, ${c.args.length})`).join(", ") || "none",
          mistake:
            "grow the file with ftruncate (resizeFile), not with write(): the new records go in through the mapping",
        });
      }
      if (!same(a.file, run.final)) {
        const r = differing(a.file, run.final)[0];
        const isNew = r !== undefined && r >= oldCount;
        ctx.fail(`record ${r} is wrong after appendRecords`, {
          expected: r === undefined
            ? ""
            : show(decode(run.final.subarray(r * RECORD, (r + 1) * RECORD))),
          observed: r === undefined
            ? ""
            : show(decode(a.file.subarray(r * RECORD, (r + 1) * RECORD))),
          mistake: isNew
            ? `new record i goes at byte (${oldCount} + i) * RECORD_SIZE of the grown mapping`
            : "appending must leave the old records as they are",
        });
      }
      if (a.length !== newSize) {
        ctx.fail("the returned mapping does not cover the grown file", {
          expected: `${fmt(newSize)} bytes`,
          observed: `${fmt(a.length)} bytes`,
          mistake: "map the whole grown file again and return that mapping",
        });
      }
      if (a.areas.length > 1 || a.oldClosed === false) {
        ctx.fail("the old mapping is still there after appendRecords", {
          expected: "one area of stock.db in /proc/PID/maps",
          observed: areaText(a.areas),
          mistake:
            "forgetting munmap: unmap the table you were given (table.unmap()) once you map the grown file",
        });
      }
      ctx.note(
        `stock.db grew from ${fmt(run.initial.length)} to ${fmt(a.size)} bytes; ` +
          `/proc/PID/maps: ${areaText(a.areas)}`,
      );
    },
  },
  {
    id: "no-write",
    title: "no write(): /proc/PID/io shows nothing written while records were updated and appended",
    points: 2,
    parent: "updates-in-place",
    hint:
      "Every byte goes through table.bytes; the file grows with ftruncate (resizeFile), which writes nothing.",
    async run(ctx: CheckContext) {
      const run = await mainRun(ctx);
      const stages: [string, Stage | undefined, Stage | undefined, number][] = [
        ["updateRecord", run.opened, run.updated, run.updates.length * RECORD],
        ["appendRecords", run.updated, run.appended, run.appends.length * RECORD],
      ];
      const notes: string[] = [];
      // wchar also counts what the process printed (console.log writes to a pipe): the
      // checker captured all of it, so take it off (from each stage: lenient, never unfair).
      const printed = encoder.encode(run.result.stdout).length +
        encoder.encode(run.result.stderr).length;
      for (const [name, from, to, recordBytes] of stages) {
        if (!from || !to) continue;
        const extra = Math.max(
          0,
          to.io.wchar - from.io.wchar - (to.protocolBytes - from.protocolBytes) - printed,
        );
        const calls = to.io.syscw - from.io.syscw - 1;
        const pwrites = callsTo(to.made, "pwrite");
        notes.push(
          `${name}: ${fmt(extra)} bytes`,
        );
        if (extra >= recordBytes / 2 || pwrites.length > 0) {
          ctx.fail(`${name} wrote to a file with write()`, {
            expected: `wchar in /proc/PID/io grows by nothing (the records are ${
              fmt(recordBytes)
            } bytes)`,
            observed: `${fmt(extra)} bytes in ${calls} write calls` +
              (pwrites.length ? ` (${pwrites.length} pwrite)` : ""),
            mistake:
              "write() instead of the mapping (Deno.writeFile, a file's write(), sys.pwrite): store into table.bytes; grow with ftruncate",
          });
        }
      }
      if (notes.length === 0) ended(ctx, run, "updateRecord");
      ctx.note(
        `wchar in /proc/PID/io, besides the checker's own messages: ${notes.join("; ")} ` +
          "(an odd 8-byte write is Deno waking its own event loop, not your code" +
          (printed > 0 ? `; the ${fmt(printed)} bytes your code printed are not counted)` : ")"),
      );
    },
  },
  {
    id: "dies-past-end",
    title: "crashPastEnd dies by a signal, storing into a page wholly past the end of the file",
    points: 2,
    hint:
      "Map ceil(size / pageSize) * pageSize + pageSize bytes with allowPastEnd: true, and store a byte at ceil(size / pageSize) * pageSize.",
    async run(ctx: CheckContext) {
      // How it died is the answer to PREDICTED_SIGNAL: predict first.
      const predictions = (await mainRun(ctx)).predictions;
      if (predictions) {
        requirePrediction(ctx, predictions.signal, {
          name: "PREDICTED_SIGNAL",
          allowed: "string",
          describe: 'a signal name such as "SIGSEGV"',
        });
      }
      const size = ctx.random.int(1, 3) * PAGE - ctx.random.int(1, PAGE - 1);
      const bytes = ctx.random.bytes(size);
      const path = Deno.realPathSync(ctx.file("short.db", bytes));
      const params: CrashParams = { step: "crash", path };
      const result = await ctx.once("crash", async () => {
        const child = ctx.spawn("drive.ts", params);
        if ((await child.checkpoint())?.name === "calling") await child.resume();
        return await child.result();
      });
      const after = Deno.readFileSync(path);
      const lastPage = Math.ceil(size / PAGE) * PAGE;
      if (result.outcome === "ok") {
        ctx.fail("crashPastEnd returned: no signal", {
          expected: "killed by SIGBUS",
          observed: `returned normally; file of ${fmt(size)} bytes`,
          mistake: "nothing touched past the end, or a store after the end of the file but still " +
            "in its last page (dropped silently, no signal): store into the next page, the first " +
            "one wholly past the end",
        });
      }
      if (result.outcome === "threw") {
        const e = result.error;
        ctx.fail(`crashPastEnd threw ${e?.name}: ${e?.message}`, {
          mistake: /past the end/.test(e?.message ?? "")
            ? "mapFile refuses to map past the end unless you pass allowPastEnd: true (that is the point here)"
            : "map one page more than the file's pages, with allowPastEnd: true, and store into that page",
        });
      }
      if (result.outcome !== "signal" || result.signal !== "SIGBUS") {
        ctx.fail(`crashPastEnd ended with ${result.signal ?? result.outcome}, not SIGBUS`, {
          mistake: result.signal === "SIGSEGV"
            ? "SIGSEGV: a read-only mapping, or a store beyond the mapping's own length; map length must reach the page past the end"
            : undefined,
        });
      }
      if (after.length !== size || !same(after, bytes)) {
        ctx.fail("the file changed", {
          expected: `${fmt(size)} bytes, unchanged`,
          observed: `${fmt(after.length)} bytes${after.length === size ? ", different" : ""}`,
          mistake:
            "crashPastEnd must not grow or write the file: the point is what happens without ftruncate",
        });
      }
      ctx.note(
        `killed by SIGBUS storing at byte ${fmt(lastPage)} of a ${fmt(size)}-byte file ` +
          `(its last page ends at ${fmt(lastPage)}); the file is unchanged`,
      );
    },
  },
  {
    id: "predicts-signal",
    title: "your prediction: which signal kills a store past the end of the file?",
    points: 1,
    parent: "dies-past-end",
    hint:
      "man 2 mmap lists the signals a mapped region can raise, and when each one comes. Is the address itself wrong here?",
    async run(ctx: CheckContext) {
      const run = await mainRun(ctx);
      const crashed = await ctx.once<ChildResult>("crash", () => {
        throw new Error("the dies-past-end check runs first");
      });
      const predicted = requirePrediction(ctx, run.predictions?.signal, {
        name: "PREDICTED_SIGNAL",
        allowed: "string",
        describe: 'a signal name such as "SIGSEGV"',
      });
      if (predicted !== crashed.signal) {
        ctx.fail(
          "your prediction differs from what the kernel did: PREDICTED_SIGNAL. Look at the " +
            'signals under "Use of a mapped region can result in these signals" in man 2 mmap, ' +
            'and read the lesson\'s last section, "After your predictions"',
          {
            expected: `${crashed.signal}: the signal that killed crashPastEnd`,
            observed: `you predicted ${said(predicted)}`,
            mistake: "SIGSEGV is for addresses you may not touch; SIGBUS is for a valid address " +
              "with nothing behind it: a page of the mapping past the end of the file",
          },
        );
      }
      ctx.note(`you predicted ${predicted}; the kernel sent ${crashed.signal}`);
    },
  },
]);
