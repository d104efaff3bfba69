/**
 * Child side of lab 01. Two steps, chosen by `params.step`:
 *
 * - `"lazy"`: maps a big and a small file with the student's `mapWhole` and
 *   pauses so the checker can read `/proc/PID/maps` and `/proc/PID/pagemap`
 *   from outside: right after mapping, and after one byte was read.
 * - `"answers"`: calls `countLines`, `findAll`, `readWindow` on several files
 *   (each call's errors caught separately, each call's slice of the call
 *   record noted), pausing around the scan of the big file so the checker can
 *   read `/proc/PID/io`, and once at the end so it can read `/proc/PID/maps`.
 *
 * @module
 */

import {
  defineDrive,
  type DriveContext,
  hex,
  type Mapping,
  studentExport,
  studentValue,
} from "../../../lib/checker/mod.ts";

/** A file and the questions asked about it. */
export interface AskedFile {
  /** Absolute path. */
  path: string;
  /** Word for `findAll`. */
  word: string;
  /** Windows for `readWindow`. */
  windows: { offset: number; length: number }[];
}

/** Parameters of the `"lazy"` step. */
export interface LazyParams {
  step: "lazy";
  /** A file of about 1 MiB, written one page per write(). */
  big: string;
  /** Byte of `big` read between the two checkpoints. */
  touch: number;
  /** A file of 10,000 bytes. */
  small: string;
  /** Offsets of `big` whose bytes are returned (read after the checkpoints). */
  samples: number[];
}

/** Parameters of the `"answers"` step. */
export interface AnswersParams {
  step: "answers";
  /** Files asked about before the scan. */
  files: AskedFile[];
  /** The big file, scanned between the `before-scan` and `after-scan` checkpoints. */
  big: AskedFile;
  /** A 0-byte file. */
  empty: string;
  /** A path where no file exists. */
  missing: string;
}

/** One call of a student's function: its value or what it threw, and its slice of the call record. */
export interface Outcome<T> {
  value?: T;
  error?: { name: string; message: string };
  /** Indexes into the child's call record: `calls.slice(from, to)` are this call's. */
  from: number;
  to: number;
}

/** What the `"lazy"` step returns. */
export interface LazyResult {
  /** The big mapping's length as the student's `Mapping` reports it. */
  length: number;
  /** The bytes at `samples`. */
  samples: number[];
  /** The student's predictions, as exported (`null` for undefined). */
  predictions: { afterOneRead: unknown; mappedBytes: unknown };
}

/** What the `"answers"` step returns. */
export interface AnswersResult {
  files: FileAnswers[];
  big: FileAnswers;
  empty: {
    countLines: Outcome<number>;
    findAll: Outcome<number[]>;
    readWindow: Outcome<string>;
    mapWhole: Outcome<string>;
  };
  missing: Outcome<number>;
}

/** The answers about one file. */
export interface FileAnswers {
  countLines: Outcome<number>;
  findAll: Outcome<number[]>;
  /** Each window's bytes as hex, or what was thrown. */
  windows: Outcome<string>[];
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object";
}

function attempt<T>(ctx: DriveContext<unknown>, fn: () => T): Outcome<T> {
  const from = ctx.calls().length;
  try {
    const value = fn();
    return { value, from, to: ctx.calls().length };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { error: { name: e.name, message: e.message }, from, to: ctx.calls().length };
  }
}

function asWindow(value: unknown): string {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`readWindow returned ${describe(value)}, not a Uint8Array`);
  }
  if (value.buffer instanceof ArrayBuffer && value.buffer.detached) {
    throw new TypeError(
      "readWindow returned a view (subarray) of its mapping, and unmap() detached it: " +
        "it holds 0 bytes now; return a copy with slice()",
    );
  }
  return hex(value);
}

function asMapping(value: unknown, what: string): Mapping {
  const m = value as Mapping | undefined;
  if (!m || typeof m.address !== "bigint" || typeof m.length !== "number") {
    throw new TypeError(`${what} returned ${describe(value)}, not a Mapping from mapFile`);
  }
  return m;
}

async function lazy(ctx: DriveContext<LazyParams>): Promise<LazyResult> {
  const p = ctx.params;
  const mapWhole = studentExport<(path: string) => unknown>(ctx, "mapWhole");
  const big = asMapping(mapWhole(p.big), "mapWhole(big file)");
  await ctx.checkpoint("mapped", { address: String(big.address), length: big.length });
  const view = big.bytes;
  const byte = view[p.touch]; // one read of one byte: one page fault
  await ctx.checkpoint("touched", { byte });
  const small = asMapping(mapWhole(p.small), "mapWhole(small file)");
  await ctx.checkpoint("small-mapped", { address: String(small.address), length: small.length });
  const samples = p.samples.map((at) => view[at]);
  const length = big.length;
  big.unmap();
  small.unmap();
  const predictions = {
    afterOneRead: studentValue(ctx, "PREDICTED_AFTER_ONE_READ") ?? null,
    mappedBytes: studentValue(ctx, "PREDICTED_MAPPED_BYTES") ?? null,
  };
  return { length, samples, predictions };
}

async function answers(ctx: DriveContext<AnswersParams>): Promise<AnswersResult> {
  const p = ctx.params;
  const countLines = studentExport<(path: string) => number>(ctx, "countLines");
  const findAll = studentExport<(path: string, word: string) => number[]>(ctx, "findAll");
  const readWindow = studentExport<(path: string, offset: number, length: number) => unknown>(
    ctx,
    "readWindow",
  );
  const mapWhole = studentExport<(path: string) => unknown>(ctx, "mapWhole");

  const ask = (file: AskedFile): FileAnswers => ({
    countLines: attempt(ctx, () => countLines(file.path)),
    findAll: attempt(ctx, () => findAll(file.path, file.word)),
    windows: file.windows.map((w) =>
      attempt(ctx, () => asWindow(readWindow(file.path, w.offset, w.length)))
    ),
  });

  const files = p.files.map(ask);
  await ctx.checkpoint("before-scan");
  const big = ask(p.big);
  await ctx.checkpoint("after-scan");
  const empty = {
    countLines: attempt(ctx, () => countLines(p.empty)),
    findAll: attempt(ctx, () => findAll(p.empty, p.big.word)),
    readWindow: attempt(ctx, () => asWindow(readWindow(p.empty, 0, 0))),
    mapWhole: attempt(ctx, () => {
      const m = mapWhole(p.empty) as Mapping | undefined;
      if (m !== undefined) {
        const what = describe(m);
        (m as Partial<Mapping>).unmap?.();
        return what;
      }
      return "undefined";
    }),
  };
  const missing = attempt(ctx, () => countLines(p.missing));
  await ctx.checkpoint("done");
  return { files, big, empty, missing };
}

export default defineDrive<LazyParams | AnswersParams>((ctx) =>
  ctx.params.step === "lazy"
    ? lazy(ctx as DriveContext<LazyParams>)
    : answers(ctx as DriveContext<AnswersParams>)
);
