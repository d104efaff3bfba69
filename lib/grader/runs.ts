/**
 * Run folders: each grading makes one `run-*` folder under the grading root
 * (`.mmap-lab/grading/`) for its overlays, with an `owner.json` naming the
 * grading process (pid and start time, which together name one process even
 * after the pid is reused). A grader killed with SIGKILL cannot delete its
 * folder; the next grading deletes every `run-*` folder whose owner is gone,
 * and never one whose owner still runs, or that `--keep` asked to keep.
 *
 * @module
 */

import { statOf } from "../checker/proctable.ts";
import { writeFileAtomic } from "./atomic.ts";
import { reopenLeftover } from "./isolation.ts";

/** The owner file of a run folder. */
export interface RunOwner {
  /** The grading process. */
  pid: number;
  /** Its start time (`/proc/PID/stat` field 22), 0 when `/proc` could not be read. */
  startTicks: number;
  /** Made with `--keep`: never removed automatically. */
  keep: boolean;
  /** When the run started (ISO 8601). */
  startedAt: string;
}

/** The owner file's name in a run folder. */
export const OWNER_FILE = "owner.json";

/** A run folder without an owner file is left alone this long (its owner may be writing it). */
export const OWNERLESS_GRACE_MS = 60_000;

/**
 * Makes a fresh `run-*` folder under `gradingRoot` with its owner file.
 *
 * @example
 * ```ts ignore
 * const runDir = createRunDir(".mmap-lab/grading", { keep: false });
 * ```
 */
export function createRunDir(gradingRoot: string, options: { keep: boolean }): string {
  Deno.mkdirSync(gradingRoot, { recursive: true });
  const dir = Deno.makeTempDirSync({ dir: gradingRoot, prefix: "run-" });
  const owner: RunOwner = {
    pid: Deno.pid,
    startTicks: statOf(Deno.pid)?.startTicks ?? 0,
    keep: options.keep,
    startedAt: new Date().toISOString(),
  };
  writeFileAtomic(`${dir}/${OWNER_FILE}`, JSON.stringify(owner) + "\n");
  return dir;
}

function readOwner(dir: string): RunOwner | undefined {
  try {
    const owner = JSON.parse(Deno.readTextFileSync(`${dir}/${OWNER_FILE}`));
    return typeof owner?.pid === "number" ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process an owner file names still runs (a zombie does not).
 *
 * @example
 * ```ts ignore
 * ownerAlive({ pid: Deno.pid, startTicks: 0, keep: false, startedAt: "" }); // true
 * ```
 */
export function ownerAlive(owner: RunOwner): boolean {
  const stat = statOf(owner.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return !owner.startTicks || stat.startTicks === owner.startTicks;
}

/**
 * Why a run folder must stay (`undefined`: it is a leftover).
 *
 * @example
 * ```ts ignore
 * keepReason(".mmap-lab/grading/run-ab12"); // "in use by process 4242"
 * ```
 */
export function keepReason(dir: string, now = Date.now()): string | undefined {
  const owner = readOwner(dir);
  if (!owner) {
    let mtime = now;
    try {
      mtime = Deno.statSync(dir).mtime?.getTime() ?? now;
    } catch { /* gone */ }
    return now - mtime < OWNERLESS_GRACE_MS ? "no owner file yet (a run starting)" : undefined;
  }
  if (owner.keep) return "kept (--keep)";
  if (ownerAlive(owner)) return `in use by process ${owner.pid}`;
  return undefined;
}

/**
 * Deletes the `run-*` folders under `gradingRoot` that no live grading owns:
 * their owner process is gone (killed, crashed), or they have had no owner
 * file for over a minute (a grader killed right after making the folder, or
 * one from before owner files). The modes such a grader closed while grading
 * as root are put back first (`reopenLeftover`). Returns the folders removed.
 *
 * @example
 * ```ts ignore
 * cleanLeftoverRuns(".mmap-lab/grading"); // ["…/run-ab12cd"]
 * ```
 */
export function cleanLeftoverRuns(gradingRoot: string, now = Date.now()): string[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(gradingRoot)];
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory || !entry.name.startsWith("run-")) continue;
    const dir = `${gradingRoot}/${entry.name}`;
    if (keepReason(dir, now) !== undefined) continue;
    // A grader killed as root left the instructor's tree closed to others: open it again.
    reopenLeftover(dir);
    try {
      Deno.removeSync(dir, { recursive: true });
      removed.push(dir);
    } catch { /* something in it cannot be removed; try again next time */ }
  }
  return removed;
}
