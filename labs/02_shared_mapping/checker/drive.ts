/**
 * Child side of lab 02. Three steps, chosen by `params.step`:
 *
 * - `"main"`: `openTable`, many `updateRecord`s, `appendRecords`, unmap;
 *   pausing after each so the checker can read the file and `/proc/PID/maps`
 *   and `/proc/PID/io` from outside while the mapping is still there.
 * - `"kill"`: one `updateRecord` and munmap (pause: the checker reads the
 *   file); then another `updateRecord` through a new mapping, and a pause at
 *   which the checker kills the process with SIGKILL: no munmap, no msync.
 * - `"crash"`: `crashPastEnd`, expected to die with SIGBUS.
 *
 * Every checkpoint carries `made`: the libc calls recorded since the
 * previous checkpoint. They reach the checker even if the child dies later
 * (a child killed by a signal never sends its final call record).
 *
 * @module
 */

import {
  type CallRecord,
  defineDrive,
  type DriveContext,
  type Mapping,
  studentExport,
  studentValue,
} from "../../../lib/checker/mod.ts";

/** A record as the student's `Item`. */
export interface Item {
  id: number;
  count: number;
  name: string;
}

/** Parameters of the `"main"` step. */
export interface MainParams {
  step: "main";
  path: string;
  updates: { index: number; item: Item }[];
  appends: Item[];
}

/** Parameters of the `"kill"` step. */
export interface KillParams {
  step: "kill";
  path: string;
  /** Stored, then unmapped, before the `"unmapped"` checkpoint. */
  first: { index: number; item: Item };
  /** Stored through a second mapping just before the `"written"` checkpoint (and the SIGKILL). */
  second: { index: number; item: Item };
}

/** Parameters of the `"crash"` step. */
export interface CrashParams {
  step: "crash";
  path: string;
}

/** Data of the `"start"` checkpoint of the main step: the student's predictions. */
export interface Predictions {
  seenBeforeMsync: unknown;
  signal: unknown;
}

/** Data of the checkpoints that show a mapping. */
export interface MappedData {
  made: CallRecord[];
  address: string;
  length: number;
  /** Whether the table passed to appendRecords was unmapped (after `"appended"`). */
  oldClosed?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object";
}

function asMapping(value: unknown, what: string): Mapping {
  const m = value as Mapping | undefined;
  if (!m || typeof m.address !== "bigint" || typeof m.length !== "number") {
    throw new TypeError(`${what} returned ${describe(value)}, not a Mapping from mapFile`);
  }
  return m;
}

type OpenTable = (path: string) => unknown;
type UpdateRecord = (table: Mapping, index: number, item: Item) => void;
type AppendRecords = (path: string, table: Mapping, items: Item[]) => unknown;

/** A function that returns the calls recorded since it was last called. */
function callsSince(ctx: DriveContext<unknown>): () => CallRecord[] {
  let mark = ctx.calls().length;
  return () => {
    const all = ctx.calls();
    const made = all.slice(mark);
    mark = all.length;
    return made;
  };
}

async function main(ctx: DriveContext<MainParams>) {
  const p = ctx.params;
  const made = callsSince(ctx);
  const predictions: Predictions = {
    seenBeforeMsync: studentValue(ctx, "PREDICTED_SEEN_BEFORE_MSYNC") ?? null,
    signal: studentValue(ctx, "PREDICTED_SIGNAL") ?? null,
  };
  await ctx.checkpoint("start", predictions);
  const openTable = studentExport<OpenTable>(ctx, "openTable");
  const updateRecord = studentExport<UpdateRecord>(ctx, "updateRecord");
  const appendRecords = studentExport<AppendRecords>(ctx, "appendRecords");

  const table = asMapping(openTable(p.path), "openTable");
  const opened: MappedData = {
    made: made(),
    address: String(table.address),
    length: table.length,
  };
  await ctx.checkpoint("opened", opened);
  for (const u of p.updates) updateRecord(table, u.index, u.item);
  await ctx.checkpoint("updated", { made: made() });
  const grown = asMapping(appendRecords(p.path, table, p.appends), "appendRecords");
  const appended: MappedData = {
    made: made(),
    address: String(grown.address),
    length: grown.length,
    oldClosed: table.closed,
  };
  await ctx.checkpoint("appended", appended);
  grown.unmap();
  if (!table.closed) table.unmap();
  await ctx.checkpoint("closed", { made: made() });
  return { done: true };
}

async function kill(ctx: DriveContext<KillParams>) {
  const p = ctx.params;
  const openTable = studentExport<OpenTable>(ctx, "openTable");
  const updateRecord = studentExport<UpdateRecord>(ctx, "updateRecord");
  const first = asMapping(openTable(p.path), "openTable");
  updateRecord(first, p.first.index, p.first.item);
  first.unmap();
  await ctx.checkpoint("unmapped");
  const second = asMapping(openTable(p.path), "openTable");
  updateRecord(second, p.second.index, p.second.item);
  await ctx.checkpoint("written");
  // The checker kills this process here: no munmap, no msync, no exit handlers.
  return { survived: true };
}

async function crash(ctx: DriveContext<CrashParams>) {
  const crashPastEnd = studentExport<(path: string) => void>(ctx, "crashPastEnd");
  await ctx.checkpoint("calling");
  crashPastEnd(ctx.params.path);
  return { returned: true };
}

export default defineDrive<MainParams | KillParams | CrashParams>((ctx) => {
  switch (ctx.params.step) {
    case "main":
      return main(ctx as DriveContext<MainParams>);
    case "kill":
      return kill(ctx as DriveContext<KillParams>);
    case "crash":
      return crash(ctx as DriveContext<CrashParams>);
  }
});
