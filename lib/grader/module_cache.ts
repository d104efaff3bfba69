/**
 * A module cache for the children of one student's overlay.
 *
 * Each student's overlay is a fresh copy of the library and the labs, so
 * its modules have paths no cache has seen: every child would transpile the
 * harness, the library and the drives again, and a grader running as root
 * starts children that switch to a user who cannot write Deno's cache at
 * all (a failed write costs Deno 150 ms of retries, so those children ran
 * with the transpile cache turned off). And what the children did cache
 * stayed behind in the grader's own `DENO_DIR`, a megabyte per student.
 *
 * Instead, before the first child of a student starts, the grader
 * transpiles every module those children can load with `deno cache` (which
 * parses and emits but never runs a module) into a cache inside the
 * overlay, removed with it. The children read every module from there
 * (grading 4 × 12 labs as root, measured: 78.5 s before, 57–62 s after,
 * the filling itself about 0.2 s a student). Under isolation:
 *
 * - nobody else's code is in it (the overlay is gated to the student's own
 *   group);
 * - its files and folders are root's, so a child cannot plant a forged
 *   emit of the library for the next child to load.
 *
 * @module
 */

import type { LabInfo } from "../catalog.ts";

/** Where, inside an overlay, the children's module cache lives. */
export const MODULE_CACHE_DIR = ".mmap-lab/deno";

/** Every TypeScript module under `dir`, recursively (hidden entries aside). */
function modulesUnder(dir: string): string[] {
  const found: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...modulesUnder(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) found.push(path);
  }
  return found;
}

async function denoCache(dir: string, modules: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--no-config", "--no-remote", "--no-npm", "--quiet", ...modules],
      clearEnv: true,
      env: { DENO_DIR: dir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(120_000),
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * Fills the module cache of an overlay with every module its children may
 * load (the library with the harness, each graded lab's folder with the
 * student's file), and returns its path. A student's file that does not
 * parse, or imports what is not there, is left out (its child reports
 * that as before); `undefined` when not even the library could be cached
 * (the children then do without, as before).
 *
 * @example
 * ```ts ignore
 * const moduleCache = await warmModuleCache(overlay.root, labs);
 * await runLab(catalog, lab, { user, moduleCache });
 * ```
 */
export async function warmModuleCache(
  overlayRoot: string,
  labs: readonly LabInfo[],
): Promise<string | undefined> {
  const dir = `${overlayRoot}/${MODULE_CACHE_DIR}`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const framework = modulesUnder(`${overlayRoot}/lib`);
  const perLab = labs.map((lab) => ({
    modules: modulesUnder(`${overlayRoot}/labs/${lab.id}`),
    student: `${overlayRoot}/labs/${lab.id}/${lab.file}`,
  }));
  if (await denoCache(dir, [...framework, ...perLab.flatMap((l) => l.modules)])) return dir;
  // A student's file did not parse, or imports what is not there: cache the rest lab by lab.
  const ok = await denoCache(dir, framework);
  for (const { modules, student } of perLab) {
    if (modules.length && !await denoCache(dir, modules)) {
      await denoCache(dir, modules.filter((m) => m !== student));
    }
  }
  return ok ? dir : undefined;
}
