/**
 * The flight file: the calls a child made, written one line each as they
 * are made, so that what led to a crash survives it (the call record a
 * child sends at its end dies with the child). A drive starts it with
 * {@link flightRecorder}; the check reads it with {@link readFlight}.
 *
 * @module
 */

import type { DriveContext } from "./drive.ts";
import type { CallRecord } from "../trace.ts";

/**
 * Appends every call the child's record receives to `path` (JSON lines),
 * synchronously, from now on.
 *
 * @example
 * ```ts ignore
 * flightRecorder(ctx, p.flight); // in a drive, before the code that may crash
 * ```
 */
export function flightRecorder(ctx: DriveContext<unknown>, path: string): void {
  const record = ctx.calls() as CallRecord[];
  const push = record.push;
  const encoder = new TextEncoder();
  Deno.writeFileSync(path, new Uint8Array());
  record.push = function (...items: CallRecord[]): number {
    for (const item of items) {
      Deno.writeFileSync(path, encoder.encode(JSON.stringify(item) + "\n"), { append: true });
    }
    return push.apply(this, items);
  };
  if (ctx.calls() !== record || record.push === push) {
    throw new Error("flightRecorder: cannot hook the call record (lib/trace.ts changed?)");
  }
}

/**
 * The calls a flight file holds; `[]` when the child never got as far as
 * starting it.
 *
 * @example
 * ```ts ignore
 * const calls = readFlight(`${ctx.scratch}/touch.flight.jsonl`);
 * ```
 */
export function readFlight(path: string): CallRecord[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return []; // the child never got that far
  }
}
