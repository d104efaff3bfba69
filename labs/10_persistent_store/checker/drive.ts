/**
 * Child side of lab 10. Modes:
 * - `write`: opens a writer, appends entries `start … start+count-1`, with
 *   checkpoints after opening, after appending and after `sync()`; closes.
 * - `forever`: opens a writer and appends until killed, counting the appends
 *   that returned in a progress file of the instructor's own (the checker
 *   reads it after the SIGKILL).
 * - `read`: opens a reader in a fresh process and checks every entry.
 * - `follow`: a reader running while the writer writes: polls until it has
 *   seen `total` entries (or a deadline), checking every entry on the way.
 */
import { defineDrive, mapFile, studentExport, withoutRecording } from "../../../lib/checker/mod.ts";
import { checkPayload, payload, type Payloads } from "./format.ts";

interface Writer {
  append(payload: Uint8Array): void;
  sync(): void;
  close(): void;
}
interface Reader {
  poll(): Uint8Array[];
  close(): void;
}

/** Parameters of each mode. */
export type Params =
  | { mode: "write"; path: string; payloads: Payloads; start: number; count: number }
  | { mode: "forever"; path: string; payloads: Payloads; start: number; progress: string }
  | { mode: "read"; path: string; payloads: Payloads }
  | {
    mode: "follow";
    path: string;
    payloads: Payloads;
    total: number;
    deadlineMs: number;
    /** A file the checker creates once the writer has finished. */
    doneFlag: string;
  };

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return -1;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Checks entries against the payloads, from index `from`; returns the first problem. */
function check(payloads: Payloads, from: number, entries: unknown[]): string | undefined {
  for (const [k, e] of entries.entries()) {
    if (!(e instanceof Uint8Array)) return `poll() returned a ${typeof e}, not a Uint8Array`;
    const wrong = checkPayload(payloads, from + k, e);
    if (wrong) return wrong;
  }
  return undefined;
}

export default defineDrive<Params>(async (ctx) => {
  const p = ctx.params;
  const predicted = ctx.student.PREDICTED_LOST_AFTER_KILL ?? null;

  if (p.mode === "write") {
    const openWriter = studentExport<(path: string) => Writer>(ctx, "openWriter");
    // Payloads made up front: while the checker watches, the writer spends its time in append.
    const entries = Array.from({ length: p.count }, (_, k) => payload(p.payloads, p.start + k));
    const writer = openWriter(p.path);
    await ctx.checkpoint("opened", { size: fileSize(p.path) });
    const started = performance.now();
    for (const entry of entries) writer.append(entry);
    const appendMs = performance.now() - started; // the writer's pace, for the checker's deadlines
    await ctx.checkpoint("appended", { size: fileSize(p.path), appendMs });
    let syncError: string | null = null;
    try {
      writer.sync();
    } catch (err) {
      syncError = describe(err);
    }
    await ctx.checkpoint("synced", { syncError });
    writer.close();
    return { appended: p.count, size: fileSize(p.path), syncError, predicted };
  }

  if (p.mode === "forever") {
    const openWriter = studentExport<(path: string) => Writer>(ctx, "openWriter");
    const progress = withoutRecording(() => mapFile(p.progress, { access: "readwrite" }));
    const done = new Int32Array(progress.bytes.buffer, 0, 1);
    const writer = openWriter(p.path);
    await ctx.checkpoint("ready");
    const stop = performance.now() + 3000; // the checker kills us long before
    for (let i = p.start; performance.now() < stop; i++) {
      writer.append(payload(p.payloads, i));
      Atomics.store(done, 0, i + 1); // append returned: entry i must survive
    }
    return { timedOut: true };
  }

  const openReader = studentExport<(path: string) => Reader>(ctx, "openReader");
  if (p.mode === "read") {
    const reader = openReader(p.path);
    const entries: Uint8Array[] = [];
    for (;;) {
      const got = reader.poll();
      if (!Array.isArray(got)) throw new Error("poll() must return an array of Uint8Array");
      if (got.length === 0) break;
      for (const e of got) entries.push(e);
    }
    reader.close();
    return { count: entries.length, error: check(p.payloads, 0, entries) ?? null };
  }

  // follow
  const reader = openReader(p.path);
  await ctx.checkpoint("ready");
  const started = performance.now();
  const deadline = started + p.deadlineMs;
  let seen = 0, polls = 0;
  let error: string | null = null;
  let writerDone = false;
  try {
    while (seen < p.total && performance.now() < deadline) {
      // Once the writer has finished, one last poll must bring everything.
      if (polls % 256 === 0 && fileSize(p.doneFlag) >= 0) writerDone = true;
      const got = reader.poll();
      polls++;
      if (got.length > 0) {
        error = check(p.payloads, seen, got) ?? null;
        seen += got.length;
        if (error) break;
      }
      if (writerDone) break;
    }
  } catch (err) {
    error = `poll() threw ${describe(err)}`;
  }
  reader.close();
  const ms = performance.now() - started;
  return {
    seen,
    polls,
    error,
    writerDone,
    deadlineHit: !writerDone && seen < p.total && !error,
    ms,
  };
});
