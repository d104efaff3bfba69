/**
 * Child side of lab 11.
 *
 * - `jit`: patches K with the student's `patchConstant` (both CPUs) and
 *   pauses (the checker keeps the bytes), then `compile`s the checker's own
 *   code, pauses before calling it (the checker
 *   reads `/proc/PID/maps` then), calls it, frees it, and pauses again.
 *   While it runs, every `mprotect` of the student's is watched as it is
 *   recorded: what the page held at that moment, and its permissions.
 * - `place`: `mapWithHint` and `mapExactly` at free addresses and at
 *   addresses of mappings the drive owns, filled with a pattern of its own.
 * - `fixed-demo`: the drive's own `MAP_FIXED` over its own data (the
 *   student only predicts).
 * - `signal`: one function that must die, with every recorded call written
 *   to a file as it is made (the in-memory record dies with the process).
 *
 * @module
 */
import {
  type CallRecord,
  defineDrive,
  type DriveContext,
  flightRecorder,
  formatCall,
  MAP,
  mapAnonymous,
  type Mapping,
  MmapError,
  procMaps,
  PROT,
  studentExport,
  studentValue,
  sys,
  withoutRecording,
} from "../../../lib/checker/mod.ts";
import { type Arch, ARCHES, hexBytes } from "./code.ts";

/** The functions that must die, and the predictions the checks read. */
export const SIGNAL_FUNCTIONS = ["callWithoutExec", "writeAfterSeal"] as const;

/** What a drive is asked to do. */
export type Params =
  | { mode: "jit"; code: number[]; ks: number[]; pairs: [number, number][]; flight: string }
  | { mode: "place"; pages: number }
  | { mode: "fixed-demo" }
  | {
    mode: "signal";
    fn: typeof SIGNAL_FUNCTIONS[number];
    code: number[];
    flight: string;
  };

/** A thrown error, as JSON. */
export interface Thrown {
  name: string;
  message: string;
  code?: string;
  syscall?: string;
  fromKernel?: boolean;
}

function thrown(err: unknown): Thrown {
  if (!(err instanceof Error)) return { name: typeof err, message: String(err) };
  const e = err as Error & { code?: unknown; syscall?: unknown; fromKernel?: unknown };
  return {
    name: e.name,
    message: e.message,
    code: typeof e.code === "string" ? e.code : undefined,
    syscall: typeof e.syscall === "string" ? e.syscall : undefined,
    fromKernel: typeof e.fromKernel === "boolean" ? e.fromKernel : undefined,
  };
}

/** What the page held, and its permissions, as an `mprotect` of the student's returned. */
export interface ProtectLook {
  /** Index of the mprotect in the call record. */
  at: number;
  /** Its permissions in /proc/self/maps right after it (`r-xp`), or undefined if unmapped. */
  perms?: string;
  /** The first bytes of the range, hex, when it was readable. */
  bytes?: string;
}

/**
 * Watches the call record: as each `mprotect` is recorded (right after the
 * kernel answered), looks at the range: its permissions, and its first
 * bytes if it can be read. (Lab 06 hooks the record the same way.)
 */
function watchProtects(ctx: DriveContext<unknown>, bytes: number, looks: ProtectLook[]): void {
  const record = ctx.calls() as CallRecord[];
  const push = record.push;
  record.push = function (...items: CallRecord[]): number {
    const n = push.apply(this, items);
    for (const item of items) {
      if (item.call !== "mprotect" || typeof item.args.addr !== "string") continue;
      const address = BigInt(item.args.addr);
      looks.push(withoutRecording(() => {
        const area = procMaps("self").find((e) => e.start <= address && address < e.end);
        const look: ProtectLook = { at: n - 1, perms: area?.perms };
        if (area?.perms.startsWith("r")) {
          // Never past the area's end: the next page may be unmapped (a SIGSEGV here).
          const length = Math.min(bytes, Number(area.end - address));
          const view = new Uint8Array(
            Deno.UnsafePointerView.getArrayBuffer(sys.pointerAt(address)!, length),
          );
          look.bytes = hexBytes(view);
        }
        return look;
      }));
    }
    return n;
  };
  if (ctx.calls() !== record || record.push === push) {
    throw new Error("lab 11 drive: cannot watch the call record (lib/trace.ts changed?)");
  }
}

/** The student's predictions, as written. */
function predictions(ctx: DriveContext<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ["PREDICTED_SIGNALS", "PREDICTED_MAP_FIXED"]) {
    out[name] = name in ctx.student ? structuredClone(ctx.student[name]) : undefined;
  }
  return out;
}

interface JitFunction {
  address: bigint;
  call(a: number, b: number): number;
  free(): void;
}

/** One placement: where the student's function put the mapping, or what it threw. */
export interface Placement {
  /** The address asked for. */
  asked: string;
  /** Where the mapping is (`Mapping.address`), when one came back. */
  address?: string;
  /** What was thrown instead. */
  error?: Thrown;
  /** What came back when it was not a Mapping. */
  returned?: string;
  /** The slice of the call record this attempt made: [from, to). */
  from: number;
  to: number;
  /** For an address the drive owns: its pattern still reads back whole afterwards. */
  intact?: boolean;
}

/** A range of `length` bytes that nothing maps right now (mapped and unmapped again). */
function freeRange(length: number): bigint {
  return withoutRecording(() => {
    const probe = mapAnonymous(length);
    const at = probe.address;
    probe.unmap();
    return at;
  });
}

/** A mapping of the drive's own, every byte `fill`: the student's code must leave it alone. */
function owned(length: number, fill: number): Mapping {
  return withoutRecording(() => {
    const m = mapAnonymous(length);
    m.bytes.fill(fill);
    return m;
  });
}

function place(
  ctx: DriveContext<unknown>,
  fn: (address: bigint, length: number) => unknown,
  address: bigint,
  length: number,
  keep: Mapping[],
): Placement {
  const from = ctx.calls().length;
  const out: Placement = { asked: "0x" + address.toString(16), from, to: from };
  try {
    const m = fn(address, length) as Mapping | undefined;
    if (m && typeof m === "object" && typeof m.address === "bigint") {
      out.address = "0x" + m.address.toString(16);
      if (typeof m.unmap === "function") keep.push(m);
    } else {
      out.returned = m === undefined ? "undefined" : String(m);
    }
  } catch (err) {
    out.error = thrown(err);
  }
  out.to = ctx.calls().length;
  return out;
}

/** Whether something is mapped at `address` right now (mincore answers ENOMEM where nothing is). */
function mappedAt(address: bigint, length: number): boolean {
  return withoutRecording(() => {
    try {
      sys.mincore(sys.pointerAt(address), length, new Uint8Array(Math.ceil(length / 4096) + 16));
      return true;
    } catch (err) {
      if (err instanceof MmapError && err.code === "ENOMEM") return false;
      throw err;
    }
  });
}

export default defineDrive<Params>(async (ctx) => {
  const p = ctx.params;
  switch (p.mode) {
    case "jit": {
      // Part 1: patching, on both CPUs' code (pure bytes: nothing runs).
      const patchConstant = studentExport<(arch: Arch, k: number) => Uint8Array>(
        ctx,
        "patchConstant",
      );
      const addCode = studentValue(ctx, "ADD_CODE") as Record<string, unknown> | undefined;
      const patches: { arch: Arch; k: number; bytes?: number[]; error?: Thrown }[] = [];
      for (const arch of ARCHES) {
        for (const k of p.ks) {
          try {
            const bytes = patchConstant(arch, k) as unknown;
            patches.push({
              arch,
              k,
              bytes: ArrayBuffer.isView(bytes) || Array.isArray(bytes)
                ? Array.from(bytes as ArrayLike<number>)
                : undefined,
              error: ArrayBuffer.isView(bytes) || Array.isArray(bytes)
                ? undefined
                : { name: "TypeError", message: `returned ${typeof bytes}, not a Uint8Array` },
            });
          } catch (err) {
            patches.push({ arch, k, error: thrown(err) });
          }
        }
      }
      const labCode = Object.fromEntries(
        ARCHES.map((a) => [a, Array.isArray(addCode?.[a]) ? addCode[a] as number[] : null]),
      );
      // Kept by the checker now: a crash in compile must not lose the patching's verdict.
      await ctx.checkpoint("patched", { patches, labCode });

      // Part 2: compile the checker's code, call it, free it.
      const compile = studentExport<(code: Uint8Array) => JitFunction>(ctx, "compile");
      flightRecorder(ctx, p.flight); // a crash inside compile or the call keeps its calls
      const looks: ProtectLook[] = [];
      watchProtects(ctx, Math.min(p.code.length + 64, sys.pageSize()), looks);
      const base = {
        patches,
        labCode,
        looks,
        predictions: predictions(ctx),
        compileFrom: ctx.calls().length,
      };
      let fn: JitFunction;
      try {
        fn = compile(Uint8Array.from(p.code));
      } catch (err) {
        return { ...base, compileError: thrown(err), compileTo: ctx.calls().length };
      }
      if (!fn || typeof fn.address !== "bigint" || typeof fn.call !== "function") {
        throw new TypeError("compile must return { address: bigint, call(a, b), free() }");
      }
      const compileTo = ctx.calls().length;
      const address = "0x" + fn.address.toString(16);
      await ctx.checkpoint("compiled", { address, length: p.code.length });
      const callFrom = ctx.calls().length;
      const results: unknown[] = [];
      for (const [a, b] of p.pairs) results.push(fn.call(a, b));
      const freeFrom = ctx.calls().length;
      let freeError: Thrown | undefined;
      try {
        fn.free();
      } catch (err) {
        freeError = thrown(err);
      }
      const freeTo = ctx.calls().length;
      await ctx.checkpoint("freed", { address });
      return {
        ...base,
        compileTo,
        address,
        callFrom,
        results: results.map((r) => typeof r === "number" ? r : String(r)),
        freeFrom,
        freeTo,
        freeError,
      };
    }

    case "place": {
      const mapWithHint = studentExport<(a: bigint, l: number) => unknown>(ctx, "mapWithHint");
      const mapExactly = studentExport<(a: bigint, l: number) => unknown>(ctx, "mapExactly");
      const length = p.pages * sys.pageSize();
      const keep: Mapping[] = [];
      const mine: Mapping[] = [];
      // A hint where nothing is, and one where the drive's own data is.
      const hintFree = place(ctx, mapWithHint, freeRange(length), length, keep);
      const a = owned(length, 0xa5);
      mine.push(a);
      const hintTaken = place(ctx, mapWithHint, a.address, length, keep);
      hintTaken.intact = a.bytes.every((b) => b === 0xa5);
      // Exactly where nothing is (again if another thread of this process took the range
      // between the look and the call: then the range is mapped, and not by the student).
      let exactFree: Placement;
      for (let attempt = 0;; attempt++) {
        const at = freeRange(length);
        exactFree = place(ctx, mapExactly, at, length, keep);
        const raced = exactFree.error?.code === "EEXIST" && attempt < 3 &&
          !ctx.calls().slice(exactFree.from, exactFree.to).some((c) =>
            c.call === "mmap" && !c.error
          );
        if (!raced || !mappedAt(at, length)) break;
      }
      // Exactly where the drive's data is.
      const b = owned(length, 0x5a);
      mine.push(b);
      const exactTaken = place(ctx, mapExactly, b.address, length, keep);
      exactTaken.intact = b.bytes.every((x) => x === 0x5a);
      const placed = { hintFree, hintTaken, exactFree, exactTaken, length };
      await ctx.checkpoint("placed", placed);
      withoutRecording(() => {
        for (const m of [...keep, ...mine]) {
          try {
            m.unmap();
          } catch { /* the student's mapping and the drive's may be one and the same range */ }
        }
      });
      return placed;
    }

    case "fixed-demo": {
      // The checker's own data, and its own MAP_FIXED over it: the student only predicts.
      const ps = sys.pageSize();
      const data = owned(ps, 0x42);
      const before = { address: "0x" + data.address.toString(16), every: 0x42 };
      await ctx.checkpoint("before", before);
      const record: CallRecord = {
        call: "mmap",
        args: {
          addr: before.address,
          length: ps,
          prot: PROT.READ | PROT.WRITE,
          flags: MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED,
          fd: -1,
          offset: 0,
        },
        result: null,
      };
      let error: Thrown | undefined;
      withoutRecording(() => {
        try {
          const ptr = sys.mmap(
            sys.pointerAt(data.address),
            ps,
            PROT.READ | PROT.WRITE,
            MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED,
            -1,
            0,
          );
          record.result = sys.hex(ptr);
        } catch (err) {
          error = thrown(err);
          record.result = "MAP_FAILED";
          record.error = error.code;
        }
      });
      const values = new Set(data.bytes);
      await ctx.checkpoint("after", { address: before.address });
      withoutRecording(() => data.unmap());
      return {
        call: formatCall(record),
        sameAddress: record.result === before.address,
        error,
        before: before.every,
        after: [...values].sort((x, y) => x - y),
        predictions: predictions(ctx),
      };
    }

    case "signal": {
      flightRecorder(ctx, p.flight);
      const fn = studentExport<(code: Uint8Array) => unknown>(ctx, p.fn);
      const value = fn(Uint8Array.from(p.code));
      return { survived: true, value: typeof value === "number" ? value : String(value) };
    }
  }
});
