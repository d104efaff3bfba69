/**
 * Fail fast: before a grading starts (which can take twenty minutes for a
 * class), check that every output it will write can be written: its folder
 * can be made, a file can be created in it (the outputs are written through a
 * temporary file beside them, then renamed), and the path is not a folder.
 *
 * @module
 */

import { tempPathFor } from "./atomic.ts";

/**
 * Why `path` could not be written, or undefined when it can. Leaves no file
 * behind (a folder it had to make stays: the output goes there).
 *
 * @example
 * ```ts ignore
 * outputProblem("/tmp/class.csv"); // 'no permission to write /tmp/class.csv: …'
 * ```
 */
export function outputProblem(path: string, permissionAdvice = ""): string | undefined {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const denied = (err: unknown) =>
    err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied;
  try {
    if (Deno.statSync(path).isDirectory) return `${path} is a folder: name a file`;
  } catch (err) {
    if (denied(err)) return `no permission to write ${path}${permissionAdvice}`;
    // absent: it will be made
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
    const probe = tempPathFor(path);
    Deno.writeFileSync(probe, new Uint8Array(0), { createNew: true });
    Deno.removeSync(probe);
    return undefined;
  } catch (err) {
    if (denied(err)) return `no permission to write ${path}${permissionAdvice}`;
    return `cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * The problems of every output in `paths` (undefined entries skipped), one
 * line each; empty when all can be written.
 *
 * @example
 * ```ts ignore
 * const problems = outputProblems([csv, json]);
 * if (problems.length) throw new Error(problems.join("; "));
 * ```
 */
export function outputProblems(
  paths: readonly (string | undefined)[],
  permissionAdvice = "",
): string[] {
  return [...new Set(paths.filter((p): p is string => Boolean(p)))]
    .map((p) => outputProblem(p, permissionAdvice))
    .filter((p): p is string => Boolean(p));
}
