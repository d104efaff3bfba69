/**
 * The lab catalog: order, titles, goals, files and hints of every lab, read
 * from the one metadata file `labs/labs.json`.
 *
 * @module
 */

import { fromFileUrl } from "./paths.ts";

/** One lab, as `labs/labs.json` describes it. */
export interface LabInfo {
  /** Stable id and folder name, e.g. `"01_first_mapping"`. */
  id: string;
  /** Title shown in lists. */
  title: string;
  /** The one file the student edits, relative to the lab's folder. */
  file: string;
  /** One or two sentences: what the student makes work. */
  goal: string;
  /** Hints, from gentle to specific; `hint` shows them one more at a time. */
  hints: string[];
  /** Whether the lab has a `checker/show.ts` drive that draws its pages. */
  show?: boolean;
  /** Limits of this lab's checks and children, set by the instructor (see {@link LabLimits}). */
  limits?: LabLimits;
}

/**
 * What an instructor may change in `labs/labs.json` without editing a
 * checker: `"limits": { "timeScale": 2, "memoryMiB": 1024 }`.
 */
export interface LabLimits {
  /**
   * Multiplies every time limit of the lab: each check's, and each child's
   * (the default 5 s and the limits a check sets). For slow grading
   * machines; the grader's `--time-scale` multiplies on top.
   */
  timeScale?: number;
  /** Writable private memory of each child, MiB (RLIMIT_DATA; default 2048). */
  memoryMiB?: number;
  /** Largest file a child may write, MiB (RLIMIT_FSIZE; default 1024). */
  fileSizeMiB?: number;
}

/** Refuses `limits` that are not positive numbers, naming the lab and the field. */
function validLimits(lab: LabInfo): void {
  const limits = lab.limits as Record<string, unknown> | undefined;
  if (limits === undefined) return;
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) {
    throw new Error(`labs/labs.json: ${lab.id}: "limits" must be an object`);
  }
  for (const [key, value] of Object.entries(limits)) {
    if (!["timeScale", "memoryMiB", "fileSizeMiB"].includes(key)) {
      throw new Error(
        `labs/labs.json: ${lab.id}: unknown limit "${key}" (timeScale, memoryMiB, fileSizeMiB)`,
      );
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new Error(
        `labs/labs.json: ${lab.id}: limits.${key} must be a positive number, not ${
          JSON.stringify(value)
        }`,
      );
    }
  }
}

/** The parsed catalog. */
export interface Catalog {
  /** The project root the catalog was read from. */
  root: string;
  /** Labs in the order a student takes them. */
  labs: LabInfo[];
}

/** The project root of this copy of mmap-lab (one level above this file). */
export const PROJECT_ROOT: string = fromFileUrl(new URL("../", import.meta.url)).replace(
  /\/$/,
  "",
);

/**
 * Reads `labs/labs.json` under `root`.
 *
 * @example
 * ```ts ignore
 * const { labs } = loadCatalog();
 * console.log(labs.map((l) => l.id));
 * ```
 */
export function loadCatalog(root: string = PROJECT_ROOT): Catalog {
  const text = Deno.readTextFileSync(`${root}/labs/labs.json`);
  const data = JSON.parse(text) as { labs: LabInfo[] };
  for (const lab of data.labs) validLimits(lab);
  return { root, labs: data.labs };
}

/**
 * Finds a lab by id, by number (`"1"`, `"01"`) or by slug (`"first_mapping"`).
 *
 * @example
 * ```ts ignore
 * findLab(loadCatalog(), "1")?.id; // "01_first_mapping"
 * ```
 */
export function findLab(catalog: Catalog, name: string): LabInfo | undefined {
  const n = /^\d+$/.test(name) ? Number(name) : undefined;
  return catalog.labs.find((lab) =>
    lab.id === name || lab.id.replace(/^\d+_/, "") === name ||
    (n !== undefined && Number(lab.id.split("_")[0]) === n)
  );
}

/** The student's file of a lab under `root`. */
export function labFile(root: string, lab: LabInfo): string {
  return `${root}/labs/${lab.id}/${lab.file}`;
}

/**
 * A file of a lab's checker under `root`: `check.ts`, a drive (`drive.ts`,
 * `show.ts`, …) or a module they share. All of them live in the lab's
 * `checker/` folder, apart from the student's file.
 *
 * @example
 * ```ts ignore
 * checkerFile(root, lab, "check.ts"); // "<root>/labs/01_first_mapping/checker/check.ts"
 * ```
 */
export function checkerFile(root: string, lab: LabInfo, name: string): string {
  return `${root}/labs/${lab.id}/checker/${name}`;
}

/** The reference solution of a lab under `root`. */
export function solutionFile(root: string, lab: LabInfo): string {
  return `${root}/solutions/${lab.id}/${lab.file}`;
}
