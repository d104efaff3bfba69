/**
 * Runs a lab's checks against a student's file: parents before children,
 * every check under a time limit, every child process killed at the end, and
 * every failure turned into a result (the runner never throws for a student's
 * mistake).
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { type Catalog, checkerFile, labFile, type LabInfo, PROJECT_ROOT } from "../catalog.ts";
import { type Check, type CheckContext, CheckFailure, type FailureDetails } from "./check.ts";
import {
  adoptOrphans,
  type ChildHandle,
  type ChildLimits,
  ChildPool,
  type ChildResult,
  describeOutcome,
  spawnChild,
  type SpawnOptions,
} from "./spawn.ts";
import type { CallRecord } from "../trace.ts";
import { type KernelProfile, kernelProfile } from "../profile.ts";
import type { SerializedError } from "./protocol.ts";
import { loadLabChecks } from "./load.ts";
import { addOutput, type CheckOutput } from "./output.ts";
import { type ChildUser, handOver } from "./identity.ts";

export type { CheckOutput } from "./output.ts";

/** How a check ended. */
export type CheckStatus = "passed" | "failed" | "skipped";

/** One check's result. */
export interface CheckResult {
  /** The check's id. */
  id: string;
  /** Its title. */
  title: string;
  /** Points earned. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** passed, failed, or skipped because its parent failed. */
  status: CheckStatus;
  /** Why it failed (empty when passed). */
  message: string;
  /** Expected / observed / likely mistake. */
  details: FailureDetails;
  /** Lines the check reported (predictions vs observations). */
  notes: string[];
  /** The check's hint. */
  hint?: string;
  /** Instructor-only. */
  hidden: boolean;
  /** Whether the failure was the checker's own error, not the student's. */
  internalError?: boolean;
  /** The libc calls made by the student's code in this check's children. */
  calls: CallRecord[];
  /**
   * What the student's code printed in this check's child processes (absent
   * when nothing): shown to the student as a debugging aid, never evidence.
   */
  output?: CheckOutput;
  /** The check whose child run this one reused (`ctx.once`): its calls are listed there. */
  sharedWith?: string;
  /** Wall-clock time, ms. */
  durationMs: number;
  /**
   * Child processes the check started (a run shared through `ctx.once`
   * counts in the check that ran it): what `deno task bench` profiles.
   */
  children?: number;
}

/** A lab's result. */
export interface LabResult {
  /** The lab's id. */
  id: string;
  /** Its title. */
  title: string;
  /** The checks, in order. */
  checks: CheckResult[];
  /** Points earned. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** Every check passed. */
  passed: boolean;
  /** A problem loading the checker itself (not the student's fault). */
  error?: string;
  /** Wall-clock time, ms. */
  durationMs: number;
  /**
   * Children started ahead of their tasks (`prestart`), and how many of them
   * a task took; absent when none was started ahead.
   */
  prestarted?: { started: number; taken: number };
}

/** Options for {@link runLab}. */
export interface RunLabOptions {
  /** The student's file (default: the lab's file under the catalog's root). */
  studentFile?: string;
  /**
   * Where scratch directories go (default: the kernel profile's scratch
   * directory, `<root>/.mmap-lab/scratch` unless msync cleans no page there).
   */
  scratchRoot?: string;
  /** The kernel profile the checks read (default: `kernelProfile(root)`, measured or cached). */
  kernel?: KernelProfile;
  /**
   * Observations shared through `ctx.once`, by key: a key found here is
   * replayed instead of run (no child starts), and a key run is added.
   * Record a run on one kernel, replay it anywhere: the checks' decisions
   * are pure functions of what they observed.
   */
  observations?: Map<string, unknown>;
  /**
   * Where the lab's `checker/check.ts` is imported from (default: the
   * catalog's root). The grader points it at the instructor's tree, so one
   * copy of each checker serves every student (an import is never unloaded:
   * one per overlay grew the grader by megabytes per student), while the
   * children still run the drives from the student's overlay.
   */
  checkerRoot?: string;
  /** Include hidden checks (grading). Default false. */
  includeHidden?: boolean;
  /** Only these check ids (their parents run too, unless `withParents` is false). */
  only?: string[];
  /**
   * With `only`: run the parents of those checks first (default), or not
   * (replaying recorded observations, where a parent's do not matter).
   */
  withParents?: boolean;
  /** Keep the scratch directory (for debugging). */
  keepScratch?: boolean;
  /** Called as each check finishes (progress display). */
  onCheck?: (result: CheckResult) => void;
  /**
   * Resource limits of every child (defaults: the lab's `limits` in
   * labs.json, then `DEFAULT_LIMITS` in spawn.ts).
   */
  limits?: ChildLimits;
  /**
   * Multiplies every time limit (each check's and each child's), on top of
   * the lab's own `limits.timeScale` in labs.json. Default 1.
   */
  timeScale?: number;
  /**
   * The user every child runs as (a grader running as root gives each lab
   * run a user of its own). The scratch folder is handed to it (mode 0700)
   * before each child starts, with what the checker put there.
   */
  user?: ChildUser;
  /**
   * A module cache filled for every child of this run (`SpawnOptions.moduleCache`):
   * the grader fills one per student.
   */
  moduleCache?: string;
  /**
   * Start each child ahead of its task while the previous one works
   * (`ChildPool` in spawn.ts): a check finds a started Deno waiting instead of
   * waiting ~90 ms for one. Every task still gets a process of its own. Costs
   * one unused start per lab run (and per distinct child setup); pays where
   * the CPU has room while checks wait, as in the runner. Default true.
   */
  prestart?: boolean;
  /**
   * Stops the run when aborted (a grading time budget): live children are
   * killed, and the check in progress and those after it are reported as
   * failed, "not graded", with `internalError` set (not the student's fault).
   */
  signal?: AbortSignal;
}

/** A child's time limit when the check sets none (before the time scale). */
export const CHILD_TIMEOUT_MS = 5000;
/** A check's time limit when it sets none (before the time scale). */
export const CHECK_TIMEOUT_MS = 30_000;

/** Why a check was cut short by {@link RunLabOptions.signal}. */
class Aborted extends Error {}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Aborted(String(signal.reason ?? "aborted")));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() =>
    signal.removeEventListener("abort", onAbort!)
  );
}

function abortMessage(signal: AbortSignal): string {
  const reason = signal.reason instanceof Error ? signal.reason.message : signal.reason;
  return `not graded: ${typeof reason === "string" && reason ? reason : "grading was stopped"}`;
}

const encoder = new TextEncoder();

function makeRandom() {
  const int = (min: number, max: number) => {
    const span = max - min + 1;
    const buf = new Uint32Array(1);
    crypto.getRandomValues(buf);
    return min + (buf[0] % span);
  };
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return {
    int,
    pick: <T>(items: readonly T[]) => items[int(0, items.length - 1)],
    bytes: (length: number) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
      return out;
    },
    nonce: (length = 12) =>
      Array.from({ length }, () => alphabet[int(0, alphabet.length - 1)]).join(""),
  };
}

interface LoadFailure {
  /** The check whose child failed to load the student's file. */
  check: string;
  /** What loading threw. */
  error: SerializedError;
}

function loadFailureOf(load: { failure?: LoadFailure }): LoadFailure | undefined {
  return load.failure;
}

function refusedOf(read: () => string | undefined): string | undefined {
  return read();
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckFailure(`${what} took longer than ${ms / 1000} s and was stopped`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Runs every check of a lab and returns the results. Never throws for
 * anything the student's code does.
 *
 * @example
 * ```ts ignore
 * const result = await runLab(loadCatalog(), findLab(loadCatalog(), "1")!);
 * console.log(result.score, "/", result.maxScore);
 * ```
 */
export async function runLab(
  catalog: Catalog,
  lab: LabInfo,
  options: RunLabOptions = {},
): Promise<LabResult> {
  // What the student's code leaves running (even a setsid() daemon) comes back
  // to this process when its child dies, and is killed there.
  adoptOrphans(true);
  try {
    return await runChecks(catalog, lab, options);
  } finally {
    adoptOrphans(false);
  }
}

/** Children each lab's last full run started, by tree, lab and student file (see `prestart`). */
const childrenLastRun = new Map<string, number>();

async function runChecks(
  catalog: Catalog,
  lab: LabInfo,
  options: RunLabOptions,
): Promise<LabResult> {
  const start = performance.now();
  const root = catalog.root;
  const studentFile = options.studentFile ?? labFile(root, lab);
  const kernel = options.kernel ?? kernelProfile(root);
  const scratchRoot = options.scratchRoot ?? kernel.scratch.dir;
  Deno.mkdirSync(scratchRoot, { recursive: true });
  const scratch = Deno.makeTempDirSync({ dir: scratchRoot, prefix: `${lab.id}-` });
  const timeScale = (lab.limits?.timeScale ?? 1) * (options.timeScale ?? 1);
  // A project tree has its own library (a grading overlay does): its children use its harness.
  const treeHarness = fileExists(`${root}/lib/checker/harness.ts`)
    ? `${root}/lib/checker/harness.ts`
    : undefined;
  const labLimits: ChildLimits = {
    ...(lab.limits?.memoryMiB ? { dataMiB: lab.limits.memoryMiB } : {}),
    ...(lab.limits?.fileSizeMiB ? { fileSizeMiB: lab.limits.fileSizeMiB } : {}),
  };
  if (options.user) handOver(scratch, options.user);
  // The lab's tree, and the tree this runner's lib/ lives in (the same one, except in tests).
  const readable = [...new Set([root, PROJECT_ROOT])];
  /** The setup every child of this run gets, but for its task and a check's own options. */
  const childSetup = (
    opts: { timeoutMs?: number; record?: boolean; student?: string; limits?: ChildLimits } = {},
  ): Omit<SpawnOptions, "drive"> => ({
    // The harness of the tree the student's module imports its library from.
    harness: treeHarness,
    student: opts.student ?? studentFile,
    scratch,
    readable,
    timeoutMs: (opts.timeoutMs ?? CHILD_TIMEOUT_MS) * timeScale,
    record: opts.record,
    limits: { ...labLimits, ...options.limits, ...opts.limits },
    signal: options.signal,
    user: options.user,
    moduleCache: options.moduleCache,
  });
  const poolKey = `${root}\0${lab.id}\0${studentFile}`;
  // As many started ahead as the last run of this lab in this process had children (watch mode
  // runs a lab again and again), so that none is left unused.
  const pool = options.prestart === false
    ? undefined
    : new ChildPool(1, childrenLastRun.get(poolKey) ?? Infinity);
  // The first child starts while the checker loads.
  pool?.prestart({ drive: "", ...childSetup() });
  try {
    const result = await runLoaded();
    if (pool) result.prestarted = { started: pool.started, taken: pool.taken };
    if (!options.only?.length && !options.signal?.aborted) {
      childrenLastRun.set(poolKey, result.checks.reduce((n, c) => n + (c.children ?? 0), 0));
    }
    return result;
  } finally {
    await pool?.close();
  }

  async function runLoaded(): Promise<LabResult> {
    const base: Omit<LabResult, "checks" | "score" | "maxScore" | "passed" | "durationMs"> = {
      id: lab.id,
      title: lab.title,
    };

    let checks: Check[];
    try {
      checks = await loadLabChecks(options.checkerRoot ?? root, lab, {
        includeHidden: options.includeHidden,
      });
    } catch (err) {
      if (!options.keepScratch) Deno.removeSync(scratch, { recursive: true });
      return {
        ...base,
        checks: [],
        score: 0,
        maxScore: 0,
        passed: false,
        error: `could not load the checker of ${lab.id}: ${
          err instanceof Error ? err.message : err
        }`,
        durationMs: performance.now() - start,
      };
    }
    checks = checks.filter((c) => options.includeHidden || !c.hidden);
    if (options.only?.length) {
      const wanted = new Set(options.only);
      if (options.withParents !== false) {
        for (const c of [...checks].reverse()) {
          if (wanted.has(c.id) && c.parent) wanted.add(c.parent);
        }
      }
      checks = checks.filter((c) => wanted.has(c.id));
    }

    /** The first child that could not even load the student's file, and in which check. */
    const load: { failure?: LoadFailure } = {};
    const shared = new Map<string, Promise<unknown>>();
    const owners = new Map<string, string>();
    const results: CheckResult[] = [];
    const parentOf = (id: string) => {
      const parent = checks.find((c) => c.id === id)?.parent;
      return parent ? results.find((r) => r.id === parent) : undefined;
    };
    const random = makeRandom();

    for (const check of checks) {
      const checkStart = performance.now();
      const notes: string[] = [];
      const calls: CallRecord[] = [];
      const children: ChildHandle[] = [];
      /** Why a child of this check ran no student code (it could not be isolated). */
      let refused: string | undefined;
      const parent = check.parent ? results.find((r) => r.id === check.parent) : undefined;
      const result: CheckResult = {
        id: check.id,
        title: check.title,
        score: 0,
        maxScore: check.points,
        status: "failed",
        message: "",
        details: {},
        notes,
        hint: check.hint,
        hidden: check.hidden ?? false,
        calls,
        durationMs: 0,
      };
      if (options.signal?.aborted) {
        result.message = abortMessage(options.signal);
        result.internalError = true;
      } else if (parent && parent.status !== "passed") {
        result.status = "skipped";
        result.message = `needs: ${parent.id}`;
      } else if (load.failure) {
        // Every check would fail the same way: say it once, where it happened.
        result.status = "skipped";
        result.message = `needs: your file to load (see ${load.failure.check})`;
      } else {
        const spawn = (
          drive: string,
          params?: unknown,
          opts: { timeoutMs?: number; record?: boolean; student?: string; limits?: ChildLimits } =
            {},
        ) => {
          // What the checker wrote in the scratch folder becomes the child's.
          if (options.user) handOver(scratch, options.user);
          const spawnOptions = {
            ...childSetup(opts),
            drive: checkerFile(root, lab, drive),
            params,
          };
          const child = pool ? pool.spawn(spawnOptions) : spawnChild(spawnOptions);
          children.push(child);
          child.result().then((r) => {
            if (r.outcome === "refused") refused ??= r.refused ?? "refused";
            calls.push(...r.calls);
            // Only the student's own prints (a checker may run other code too).
            if ((opts.student ?? studentFile) === studentFile) addOutput(result, r);
            if (r.error?.whileLoading && (opts.student ?? studentFile) === studentFile) {
              load.failure ??= { check: check.id, error: r.error };
            }
          });
          return child;
        };
        const ctx: CheckContext = {
          lab,
          root,
          kernel,
          studentFile,
          scratch,
          random,
          file(name, content) {
            const path = `${scratch}/${name}`;
            Deno.writeFileSync(
              path,
              typeof content === "string" ? encoder.encode(content) : content,
            );
            return path;
          },
          spawn,
          async run(drive, params, opts) {
            // Nobody inspects this child: let it pass its checkpoints.
            const child = spawn(drive, params, opts);
            while (await child.checkpoint()) await child.resume();
            return await child.result();
          },
          once<T>(key: string, fn: () => Promise<T>): Promise<T> {
            if (!shared.has(key)) {
              const recorded = options.observations;
              if (recorded?.has(key)) {
                shared.set(key, Promise.resolve(recorded.get(key)));
              } else {
                const running = fn();
                shared.set(key, running);
                running.then((value) => recorded?.set(key, value), () => {});
              }
              owners.set(key, check.id);
            } else if (owners.get(key) !== check.id) {
              result.sharedWith ??= owners.get(key);
            }
            return shared.get(key) as Promise<T>;
          },
          expectOk(r: ChildResult, doing?: string) {
            if (r.outcome === "ok") return r.value;
            const what = doing ? `${doing}: your code ` : "your code ";
            const output = r.stderr.trim()
              ? `\n${r.stderr.trim().split("\n").slice(-6).join("\n")}`
              : "";
            throw new CheckFailure(what + describeOutcome(r), {
              observed: r.error?.stack && r.outcome === "threw"
                ? r.error.stack
                : output.trim() || undefined,
            });
          },
          fail(message, details) {
            throw new CheckFailure(message, details);
          },
          expectEqual(actual, expected, { what, mistake }) {
            if (!isDeepStrictEqual(actual, expected)) {
              throw new CheckFailure(`${what} is wrong`, {
                expected: show(expected),
                observed: show(actual),
                mistake,
              });
            }
          },
          note(line) {
            notes.push(line);
          },
        };
        try {
          await abortable(
            withTimeout(
              Promise.resolve().then(() => check.run(ctx)),
              (check.timeoutMs ?? CHECK_TIMEOUT_MS) * timeScale,
              `check ${check.id}`,
            ),
            options.signal,
          );
          result.status = "passed";
          result.score = check.points;
        } catch (err) {
          if (options.signal?.aborted) {
            result.message = abortMessage(options.signal);
            result.details = {};
            result.internalError = true;
          } else if (err instanceof CheckFailure) {
            result.message = err.message;
            result.details = err.details;
            if (err.details.awaitingPrediction) {
              // This check's notes, and those of the checks it depends on, may
              // show what the kernel did: the answer to the prediction.
              for (let c: CheckResult | undefined = result; c; c = parentOf(c.id)) {
                if (c.notes.length) {
                  c.notes.length = 0;
                  c.notes.push("what the kernel did is shown once your prediction is in");
                }
              }
            }
          } else {
            result.message = `the checker itself failed: ${
              err instanceof Error ? err.message : String(err)
            }`;
            result.internalError = true;
          }
        } finally {
          for (const child of children) child.kill();
          await Promise.allSettled(children.map((c) => c.result()));
        }
        // (Set by a child's result callback: a call, so TypeScript does not narrow it away.)
        const failure = loadFailureOf(load);
        const notIsolated = refusedOf(() => refused);
        if (result.status === "failed" && notIsolated !== undefined) {
          result.message = `not graded: a child could not be isolated: ${notIsolated}`;
          result.details = {};
          result.internalError = true;
        }
        if (result.status === "failed" && failure?.check === check.id) {
          const error = failure.error;
          const [first, ...rest] = String(error.message).split("\n");
          const file = studentFile.startsWith(`${root}/`)
            ? studentFile.slice(root.length + 1)
            : studentFile;
          if (error.whileLoading === "compile") {
            result.message = `your file does not load: ${first}`;
            result.details = {
              observed: rest.length ? [first, ...rest].join("\n") : undefined,
              mistake:
                `fix that line and save; \`deno check ${file}\` lists every error with its line`,
            };
          } else {
            result.message = `your file threw as it was loaded: ${error.name}: ${first}`;
            result.details = {
              observed: error.stack ?? undefined,
              mistake: "code at the top level of the file runs as soon as it is imported: " +
                "move it into the functions the checks call",
            };
          }
          result.internalError = undefined;
          result.hint = undefined; // about the check's subject, not about loading
        }
      }
      result.durationMs = performance.now() - checkStart;
      result.children = children.length;
      results.push(result);
      options.onCheck?.(result);
    }
    await Promise.allSettled([...shared.values()]);
    if (!options.keepScratch) {
      try {
        Deno.removeSync(scratch, { recursive: true });
      } catch { /* a child may have left it read-only; harmless */ }
    }
    const score = results.reduce((sum, r) => sum + r.score, 0);
    const maxScore = results.reduce((sum, r) => sum + r.maxScore, 0);
    return {
      ...base,
      checks: results,
      score,
      maxScore,
      passed: results.every((r) => r.status === "passed"),
      durationMs: performance.now() - start,
    };
  }
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
