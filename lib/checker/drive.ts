/**
 * The child side of a check. A lab's *drive* module runs in a child Deno
 * process: it receives the student's module and the check's parameters, runs
 * the student's code, may pause at checkpoints while the checker inspects the
 * process from outside, and returns a JSON result.
 *
 * @example
 * ```ts ignore
 * // labs/01_first_mapping/checker/drive.ts
 * import { defineDrive, studentExport } from "../../../lib/checker/mod.ts";
 * export default defineDrive<{ path: string }>(async (ctx) => {
 *   const countLines = studentExport<(p: string) => number>(ctx, "countLines");
 *   const lines = countLines(ctx.params.path);
 *   await ctx.checkpoint("counted"); // the checker reads /proc/<pid>/io now
 *   return { lines };
 * });
 * ```
 *
 * @module
 */

import type { CallRecord } from "../trace.ts";
import type { Mapping, Protection } from "../mapping.ts";
import {
  type FaultCounts,
  type MappingKind,
  type PageState,
  threadFaultCounts,
} from "../inspect.ts";

/** What a drive receives. */
export interface DriveContext<P = unknown> {
  /** The check's parameters (JSON). */
  params: P;
  /** The student's module, as imported. */
  student: Record<string, unknown>;
  /** This child's scratch directory. */
  scratch: string;
  /** Pauses until the checker resumes it; the checker sees `data`. */
  checkpoint(name: string, data?: unknown): Promise<void>;
  /** The libc calls recorded so far (the call record is on from the start). */
  calls(): readonly CallRecord[];
}

/** A drive: the code a check runs in the child. Returns JSON. */
export type Drive<P = unknown, R = unknown> = (ctx: DriveContext<P>) => R | Promise<R>;

/**
 * Declares a drive (types only: it returns `fn`).
 *
 * @example
 * ```ts
 * export default defineDrive<{ n: number }>((ctx) => ctx.params.n * 2);
 * ```
 */
export function defineDrive<P = unknown, R = unknown>(fn: Drive<P, R>): Drive<P, R> {
  return fn;
}

/** Thrown in the child when the student's module lacks an export the lab needs. */
export class MissingExportError extends Error {
  /**
   * The error for a missing export `name` of a kind (`"function"`, `"value"`).
   *
   * @example
   * ```ts
   * console.log(new MissingExportError("countLines", "function").message);
   * ```
   */
  constructor(name: string, kind: string) {
    super(`your module does not export ${kind} ${name}: keep the names the stub declares`);
    this.name = "MissingExportError";
  }
}

/**
 * A function the student's module must export.
 *
 * @example
 * ```ts ignore
 * const countLines = studentExport<(path: string) => number>(ctx, "countLines");
 * ```
 */
export function studentExport<F>(ctx: DriveContext<unknown>, name: string): F {
  const value = ctx.student[name];
  if (typeof value !== "function") throw new MissingExportError(name, "function");
  return value as F;
}

/**
 * A value (a prediction, a constant) the student's module must export.
 *
 * @example
 * ```ts ignore
 * const predicted = studentValue(ctx, "PREDICTED_FAULTS");
 * ```
 */
export function studentValue(ctx: DriveContext<unknown>, name: string): unknown {
  if (!(name in ctx.student)) throw new MissingExportError(name, "value");
  return ctx.student[name];
}

/** One picture of a mapping, for `deno task lab show` and `deno task lab web`. */
export interface Frame {
  /** What the student is looking at, e.g. "after writing pages 2 and 5". */
  title: string;
  /** One state per page. */
  pages: PageState[];
  /** A few smaps numbers, in bytes. */
  smaps: {
    rss: number;
    privateDirty: number;
    privateClean: number;
    sharedDirty: number;
    anonymous: number;
  };
  /** The kind of mapping (what its pages' states mean). */
  kind?: MappingKind;
  /** The mapping's protection when the picture was taken (`"none"`: a guard region). */
  protection?: Protection;
  /**
   * How many libc calls the call record held when the picture was taken: the
   * calls before it are those that made this picture (`lab web` lists them
   * beside it).
   */
  calls?: number;
  /**
   * The main thread's fault counters just before the picture was taken, and
   * just after (reading `/proc` faults too): the faults between two pictures
   * are `faults` of the second minus `faultsAfter` of the first.
   */
  faults?: FaultCounts;
  /** The fault counters once the picture was taken (see `faults`). */
  faultsAfter?: FaultCounts;
}

/**
 * A snapshot of a mapping's pages and smaps numbers, for `show`, with the
 * fault counters around it; given the drive's context, also how many calls
 * the call record holds (`lab web` shows the calls between two pictures).
 *
 * @example
 * ```ts ignore
 * frames.push(snapshot("after the first write", mapping, ctx));
 * ```
 */
export function snapshot(
  title: string,
  mapping: Mapping,
  ctx?: Pick<DriveContext<unknown>, "calls">,
): Frame {
  const faults = threadFaultCounts();
  const calls = ctx?.calls().length;
  const s = mapping.smaps();
  const pages = mapping.pages();
  return {
    title,
    pages: pages.map((p) => p.state),
    smaps: {
      rss: s.rss,
      privateDirty: s.privateDirty,
      privateClean: s.privateClean,
      sharedDirty: s.sharedDirty,
      anonymous: s.anonymous,
    },
    kind: mapping.source.path === undefined
      ? `anonymous-${mapping.source.mode}`
      : `file-${mapping.source.mode}`,
    protection: mapping.access,
    ...(calls === undefined ? {} : { calls }),
    faults,
    faultsAfter: threadFaultCounts(),
  };
}
