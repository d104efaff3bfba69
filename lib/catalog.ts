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
