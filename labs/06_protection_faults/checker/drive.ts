/**
 * Child side of lab 06. Modes:
 *
 * - `errors`: calls the four functions that provoke the kernel's errors and
 *   reports what each returned, with its slice of the call record.
 * - `signal`: calls one function that should kill the process. The call
 *   record dies with the process, so a hook appends every recorded call to a
 *   *flight file* in the scratch directory as it is made: the checker reads
 *   what led up to the crash.
 * - `safe`: `touchAfterUnmapSafely`, which must not crash.
 * - `guard-layout`: `allocateGuarded`, then checkpoints for the checker to
 *   read `/proc/PID/maps` before and after `free()`; then a new mapping takes
 *   the freed range and `free()` is called again (it must do nothing).
 * - `guard-overflow`: writes byte by byte through an *unchecked* view (like
 *   a C loop) up past the end, or down past the start, of the guarded
 *   buffer, storing each index in a shared progress file just before the
 *   store: after the SIGSEGV, the checker reads where it happened.
 *
 * The drive's own libc calls run with the call record paused.
 *
 * @module
 */
import {
  defineDrive,
  type DriveContext,
  flightRecorder,
  MAP,
  mapFile,
  type MmapError,
  PROT,
  studentExport,
  sys,
  withoutRecording,
} from "../../../lib/checker/mod.ts";

/** Names of the four error functions. */
export const ERROR_FUNCTIONS = [
  "zeroLength",
  "unalignedOffset",
  "writableSharedOnReadOnly",
  "closedDescriptor",
] as const;

/** Names of the three crash functions. */
export const SIGNAL_FUNCTIONS = ["writeReadOnly", "touchAfterMunmap", "touchPastEnd"] as const;

/** Parameters of every mode. */
export type Params =
  | { mode: "errors"; path: string }
  | { mode: "signal"; fn: typeof SIGNAL_FUNCTIONS[number]; path: string; flight: string }
  | { mode: "safe" }
  | { mode: "guard-layout"; pages: number }
  | {
    mode: "guard-overflow";
    pages: number;
    direction: "up" | "down";
    extra: number;
    progress: string;
  };

/** What one error function gave back, as it crosses to the checker. */
export interface ErrorOutcome {
  /** What the function did: returned an error, returned nothing, or threw. */
  kind: "error" | "none" | "threw" | "other";
  code?: string;
  syscall?: string;
  fromKernel?: boolean;
  message?: string;
  /** Its calls: `result.calls.slice(from, to)`. */
  from: number;
  to: number;
}

/** The guarded buffer the student returns. */
interface GuardedBuffer {
  address: bigint;
  length: number;
  free(): void;
}

function predictions(ctx: DriveContext<unknown>): Record<string, unknown> {
  const signals = ctx.student.PREDICTED_SIGNALS;
  const lines = ctx.student.PREDICTED_MAPS_LINES;
  return {
    PREDICTED_SIGNALS: signals && typeof signals === "object" ? { ...signals } : null,
    PREDICTED_MAPS_LINES: lines === undefined ? null : lines,
  };
}

function guarded(ctx: DriveContext<unknown>, pages: number): GuardedBuffer {
  const allocateGuarded = studentExport<(pages: number) => GuardedBuffer>(ctx, "allocateGuarded");
  const g = allocateGuarded(pages);
  if (!g || typeof g.address !== "bigint" || typeof g.length !== "number") {
    throw new TypeError(
      "allocateGuarded must return { address: bigint, length: number, free() }",
    );
  }
  return g;
}

export default defineDrive<Params>(async (ctx) => {
  const p = ctx.params;
  switch (p.mode) {
    case "errors": {
      const out: Record<string, ErrorOutcome> = {};
      for (const name of ERROR_FUNCTIONS) {
        const fn = studentExport<(path: string) => MmapError | undefined>(ctx, name);
        const from = ctx.calls().length;
        let outcome: Omit<ErrorOutcome, "from" | "to">;
        try {
          const err = fn(p.path) as unknown;
          if (err === undefined || err === null) outcome = { kind: "none" };
          else if (err instanceof Error) {
            const e = err as Error & { code?: string; syscall?: string; fromKernel?: boolean };
            outcome = {
              kind: "error",
              code: e.code,
              syscall: e.syscall,
              fromKernel: e.fromKernel,
              message: e.message,
            };
          } else outcome = { kind: "other", message: String(err) };
        } catch (err) {
          outcome = { kind: "threw", message: err instanceof Error ? err.message : String(err) };
        }
        out[name] = { ...outcome, from, to: ctx.calls().length };
      }
      return { outcomes: out, pageSize: sys.pageSize(), predictions: predictions(ctx) };
    }

    case "signal": {
      flightRecorder(ctx, p.flight);
      if (p.fn === "touchAfterMunmap") {
        studentExport<() => void>(ctx, p.fn)();
      } else {
        studentExport<(path: string) => void>(ctx, p.fn)(p.path);
      }
      return { survived: true };
    }

    case "safe": {
      const fn = studentExport<() => number>(ctx, "touchAfterUnmapSafely");
      const length = fn();
      return { length: typeof length === "number" ? length : String(length) };
    }

    case "guard-layout": {
      const g = guarded(ctx, p.pages);
      const where = { address: g.address.toString(), length: g.length };
      await ctx.checkpoint("allocated", where);
      const before = ctx.calls().length;
      g.free();
      await ctx.checkpoint("freed", where);
      // Something else moves in where the buffer was (as the next mmap of any library may),
      // then free() is called a second time: it must leave the newcomer alone.
      const ps = sys.pageSize();
      const base = g.address - BigInt(ps);
      const total = g.length + 2 * ps;
      const tenant = withoutRecording(() => {
        try {
          return sys.addressOf(sys.mmap(
            Deno.UnsafePointer.create(base),
            total,
            PROT.READ | PROT.WRITE,
            MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE,
            -1,
            0,
          ));
        } catch {
          return null; // the range is taken already: the second free() is still watched
        }
      });
      const again = ctx.calls().length;
      g.free();
      await ctx.checkpoint("freed-again", { tenant: tenant === null ? null : String(tenant) });
      return {
        ...where,
        freeFrom: before,
        againFrom: again,
        tenant: tenant === null ? null : String(tenant),
        tenantLength: total,
        predictions: predictions(ctx),
      };
    }

    case "guard-overflow": {
      const progressMap = withoutRecording(() => mapFile(p.progress, { access: "readwrite" }));
      const progress = new Int32Array(progressMap.bytes.buffer, 0, 4);
      const g = guarded(ctx, p.pages);
      const ps = sys.pageSize();
      progress[2] = g.length;
      progress[3] = 1; // started
      if (p.direction === "up") {
        // An unchecked view that reaches `extra` bytes past the buffer: what a
        // C loop without a bounds check writes to.
        const view = new Uint8Array(
          Deno.UnsafePointerView.getArrayBuffer(sys.pointerAt(g.address)!, g.length + p.extra),
        );
        for (let i = 0; i < view.length; i++) {
          progress[0] = i;
          view[i] = i & 0xff;
        }
      } else {
        const below = Math.min(p.extra, ps);
        const view = new Uint8Array(
          Deno.UnsafePointerView.getArrayBuffer(
            sys.pointerAt(g.address - BigInt(below))!,
            below + 64,
          ),
        );
        for (let i = 63; i >= -below; i--) {
          progress[0] = i;
          view[below + i] = 0xee;
        }
      }
      progress[1] = 1; // finished without a fault
      return { finished: true, length: g.length };
    }
  }
});
