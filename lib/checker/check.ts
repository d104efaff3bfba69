/**
 * How a lab declares its checks. Each check has a stable id, a title, points,
 * an optional parent (skipped with "needs: <parent>" when the parent fails),
 * a hint, and a body that decides on evidence printing cannot fake.
 *
 * @example
 * ```ts ignore
 * // labs/01_first_mapping/checker/check.ts
 * import { defineChecks } from "../../../lib/checker/mod.ts";
 * export default defineChecks([
 *   {
 *     id: "counts-lines",
 *     title: "countLines counts the lines of a random file",
 *     points: 2,
 *     hint: "count the \\n bytes in mapping.bytes",
 *     async run(ctx) {
 *       const path = ctx.file("text.txt", "a\nb\n");
 *       const { lines } = ctx.expectOk(await ctx.run("drive.ts", { path })) as { lines: number };
 *       ctx.expectEqual(lines, 2, { what: "line count", mistake: "counting lines another way" });
 *     },
 *   },
 * ]);
 * ```
 *
 * @module
 */

import type { ChildHandle, ChildResult } from "./spawn.ts";
import type { LabInfo } from "../catalog.ts";
import type { KernelProfile } from "../profile.ts";

/** What a failed check shows besides its message. */
export interface FailureDetails {
  /** What the checker expected to see. */
  expected?: string;
  /** What it observed. */
  observed?: string;
  /** The likely mistake, in words a student recognises. */
  mistake?: string;
  /**
   * Where this check's expectation rests on a fact in which this machine's
   * kernel differs from the textbook (see `KernelProfile`): what this kernel
   * does, in a sentence. The runner shows it with a pointer to
   * `deno task lab doctor`.
   */
  kernel?: string;
  /**
   * The student has not made the prediction this check compares: the check's
   * notes (what the kernel did) are withheld, so the answer cannot be copied
   * into the prediction. Predict, then observe.
   */
  awaitingPrediction?: boolean;
}

/** Thrown (through `ctx.fail`) to fail a check. */
export class CheckFailure extends Error {
  /** Expected, observed, likely mistake. */
  readonly details: FailureDetails;
  /**
   * A failure with its message and what it shows besides.
   *
   * @example
   * ```ts
   * const failure = new CheckFailure("the file did not change", { mistake: "MAP_PRIVATE" });
   * console.log(failure.details.mistake); // "MAP_PRIVATE"
   * ```
   */
  constructor(message: string, details: FailureDetails = {}) {
    super(message);
    this.name = "CheckFailure";
    this.details = details;
  }
}

/** Random values for a check: fresh each run, so hard-coded answers fail. */
export interface CheckRandom {
  /** A whole number in `[min, max]`. */
  int(min: number, max: number): number;
  /** One element of a list. */
  pick<T>(items: readonly T[]): T;
  /** Random bytes. */
  bytes(length: number): Uint8Array;
  /** A random word of letters and digits (default 12 characters). */
  nonce(length?: number): string;
}

/** Options for running a drive in a child. */
export interface RunOptions {
  /**
   * The child's time limit, ms (default 5 s). Multiplied by the lab's
   * `limits.timeScale` in labs.json and the grader's `--time-scale`.
   */
  timeoutMs?: number;
  /** Record libc calls (default true). */
  record?: boolean;
  /** Use this file as the student's module instead of the student's lab file. */
  student?: string;
}

/** What a check's body receives. */
export interface CheckContext {
  /** The lab being checked. */
  lab: LabInfo;
  /** The project root the checker runs from (the instructor's, when grading). */
  root: string;
  /**
   * This machine's kernel profile (`deno task lab doctor`): where a check's
   * expectation depends on a fact that varies between kernels, it comes from
   * here or from the same run's observation, never from a constant.
   */
  kernel: KernelProfile;
  /** Absolute path of the student's module. */
  studentFile: string;
  /** This lab run's scratch directory (disk-backed, deleted afterwards). */
  scratch: string;
  /** Fresh random values. */
  random: CheckRandom;
  /** Writes a file in the scratch directory and returns its path. */
  file(name: string, content: string | Uint8Array): string;
  /** Starts a drive (path relative to the lab's `checker/` folder) in a child process. */
  spawn(drive: string, params?: unknown, options?: RunOptions): ChildHandle;
  /** Runs a drive to its end (passing its checkpoints without stopping) and returns what happened. */
  run(drive: string, params?: unknown, options?: RunOptions): Promise<ChildResult>;
  /**
   * Runs `fn` once per lab run and shares its promise with every check that
   * asks for the same key: one child for several checks.
   */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** The drive's value if the child ran to the end; fails the check with how it ended otherwise. */
  expectOk(result: ChildResult, doing?: string): unknown;
  /** Fails the check. */
  fail(message: string, details?: FailureDetails): never;
  /** Fails unless `actual` equals `expected` (deep equality for arrays and objects). */
  expectEqual(
    actual: unknown,
    expected: unknown,
    options: { what: string; mistake?: string },
  ): void;
  /** Adds a line to the check's report (shown on pass too): predictions vs observations. */
  note(line: string): void;
}

/** A check. */
export interface Check {
  /** Stable id, e.g. `"maps-shared"`; used in grading output. */
  id: string;
  /** What it checks, as a sentence. */
  title: string;
  /** Points when it passes. */
  points: number;
  /** Id of a check that must pass first. */
  parent?: string;
  /** A hint shown when it fails. */
  hint?: string;
  /** Counts in grading only; never shown in the student runner. */
  hidden?: boolean;
  /**
   * The untouched stub may pass this check (e.g. "the module loads"); the
   * project's honesty test allows it. Every other check must fail on the stub.
   */
  stubMayPass?: boolean;
  /** Time limit for the whole body, ms (default 30 s). Children have their own (default 5 s). */
  timeoutMs?: number;
  /** The body: returns to pass, throws (via `ctx.fail`) to fail. */
  run(ctx: CheckContext): void | Promise<void>;
}

/**
 * Declares a lab's checks (types only; also rejects duplicate ids and
 * unknown parents at load time).
 *
 * @example
 * ```ts
 * export default defineChecks([{ id: "a", title: "A", points: 1, run() {} }]);
 * ```
 */
export function defineChecks(checks: Check[]): Check[] {
  const ids = new Set<string>();
  for (const check of checks) {
    if (ids.has(check.id)) throw new Error(`duplicate check id ${check.id}`);
    if (check.parent && !ids.has(check.parent)) {
      throw new Error(`check ${check.id}: parent ${check.parent} must be declared before it`);
    }
    ids.add(check.id);
  }
  return checks;
}
