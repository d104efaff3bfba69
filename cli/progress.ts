/**
 * The student's progress: each lab's status (not started, in progress,
 * passed, edited since it passed, file missing) and the course's totals. A
 * lab whose file is still the stub is "not started", whatever its checks
 * last gave: a stub can pass a check such as "runs to the end" by doing
 * nothing, and that is not progress.
 *
 * @module
 */

import { type Catalog, checkerFile, labFile, type LabInfo } from "../lib/catalog.ts";
import { toFileUrl } from "../lib/paths.ts";
import { passedAsIs, pristineStub, type State } from "./state.ts";

/** Where a lab stands. */
export type LabStatus = "not started" | "in progress" | "passed" | "edited" | "missing";

/**
 * A lab's status: `missing` (no file), `not started` (the file is the stub),
 * `passed` (passed when last checked, file unchanged since), `edited` (passed,
 * then changed), else `in progress`.
 *
 * @example
 * ```ts ignore
 * console.log(labStatus(catalog.root, state, lab)); // "not started"
 * ```
 */
export function labStatus(root: string, state: State, lab: LabInfo): LabStatus {
  let text: string;
  try {
    text = Deno.readTextFileSync(labFile(root, lab));
  } catch {
    return "missing";
  }
  if (passedAsIs(root, state, lab)) return "passed";
  if (state.labs[lab.id]?.passed) return "edited";
  return text === pristineStub(root, lab) ? "not started" : "in progress";
}

/**
 * Points of the whole course: every lab's checks (hidden ones excluded),
 * read from the checkers themselves, so the total is known before any lab
 * is opened.
 *
 * @example
 * ```ts ignore
 * console.log(await coursePoints(loadCatalog())); // 136
 * ```
 */
export async function coursePoints(catalog: Catalog): Promise<number> {
  let total = 0;
  for (const lab of catalog.labs) {
    try {
      const checks = (await import(toFileUrl(checkerFile(catalog.root, lab, "check.ts"))))
        .default as { points: number; hidden?: boolean }[];
      total += checks.filter((c) => !c.hidden).reduce((sum, c) => sum + c.points, 0);
    } catch { /* a checker that does not load: its lab says so when checked */ }
  }
  return total;
}

/**
 * Points earned: the last checked score of every lab that is started (a
 * stub's points do not count).
 */
export function earnedPoints(catalog: Catalog, state: State): number {
  return catalog.labs.reduce((sum, lab) => {
    const status = labStatus(catalog.root, state, lab);
    return status === "not started" || status === "missing"
      ? sum
      : sum + (state.labs[lab.id]?.score ?? 0);
  }, 0);
}
