/**
 * Loading a lab's checks: `checker/check.ts` (what students run) and, when
 * grading, `checker/hidden.ts` (the hidden checks, which the student handout
 * does not ship: `deno task handout` leaves out every `checker/hidden*` file).
 *
 * A hidden check still may be declared inline in `check.ts` with
 * `hidden: true` (it counts when grading and never runs in the runner), but
 * its code then ships to the students with `check.ts`, so `deno task handout`
 * refuses such a lab: move it to `hidden.ts`.
 *
 * @module
 */

import { checkerFile, type LabInfo } from "../catalog.ts";
import type { Check } from "./check.ts";
import { toFileUrl } from "../paths.ts";

/** The file of a lab's checker that holds its hidden checks (grading only). */
export const HIDDEN_CHECKS_FILE = "hidden.ts";

/**
 * Whether a file of a lab's `checker/` folder is instructor-only: `hidden.ts`
 * and any `hidden_*` or `hidden/` next to it (drives and helpers only hidden
 * checks use). The student handout leaves these out.
 *
 * @example
 * ```ts
 * console.log(isHiddenCheckerFile("hidden.ts"), isHiddenCheckerFile("hidden_drive.ts"), isHiddenCheckerFile("drive.ts")); // true true false
 * ```
 */
export function isHiddenCheckerFile(name: string): boolean {
  return /^hidden(?:[._-]|$)/.test(name);
}

/**
 * Declares a lab's hidden checks, in `checker/hidden.ts`: each is marked
 * `hidden` (it counts when grading, never runs in the student runner); a
 * `parent` may name a check of `check.ts`.
 *
 * @example
 * ```ts
 * export default defineHiddenChecks([{ id: "secret", title: "A", points: 1, run() {} }]);
 * ```
 */
export function defineHiddenChecks(checks: Check[]): Check[] {
  const ids = new Set<string>();
  for (const check of checks) {
    if (ids.has(check.id)) throw new Error(`duplicate check id ${check.id}`);
    ids.add(check.id);
  }
  return checks.map((c) => ({ ...c, hidden: true }));
}

async function importChecks(path: string): Promise<Check[]> {
  const checks = (await import(toFileUrl(path))).default;
  if (!Array.isArray(checks)) throw new Error(`${path} has no default export of checks`);
  return checks as Check[];
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * A lab's checks under `root`, in order: those of `check.ts`, then (with
 * `includeHidden`) those of `hidden.ts` when it exists. Inline hidden checks
 * of `check.ts` are left out unless `includeHidden`. Throws when a file does
 * not load, an id repeats, or a parent is not declared before its check.
 *
 * @example
 * ```ts ignore
 * const checks = await loadLabChecks(root, lab, { includeHidden: true });
 * ```
 */
export async function loadLabChecks(
  root: string,
  lab: LabInfo,
  options: { includeHidden?: boolean } = {},
): Promise<Check[]> {
  let checks = await importChecks(checkerFile(root, lab, "check.ts"));
  const hiddenFile = checkerFile(root, lab, HIDDEN_CHECKS_FILE);
  if (options.includeHidden && exists(hiddenFile)) {
    const hidden = (await importChecks(hiddenFile)).map((c) => ({ ...c, hidden: true }));
    checks = [...checks, ...hidden];
  }
  const ids = new Set<string>();
  for (const check of checks) {
    if (ids.has(check.id)) throw new Error(`duplicate check id ${check.id} in ${lab.id}`);
    if (check.parent && !ids.has(check.parent)) {
      throw new Error(
        `check ${check.id} of ${lab.id}: parent ${check.parent} must be declared before it`,
      );
    }
    ids.add(check.id);
  }
  return options.includeHidden ? checks : checks.filter((c) => !c.hidden);
}
