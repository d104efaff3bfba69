/**
 * Paths given on an instructor tool's command line (`deno task grade`,
 * `deno task handout`), taken from the folder where `deno task` was run.
 *
 * @module
 */

function initCwd(): string | undefined {
  try {
    return Deno.env.get("INIT_CWD") || undefined;
  } catch {
    return undefined; // no env permission for it
  }
}

/**
 * A path given on the command line, from where the user ran `deno task`
 * (`INIT_CWD`), else from the current folder.
 *
 * @example
 * ```ts ignore
 * resolvePath("grades/class.json"); // "/home/me/course/grades/class.json"
 * ```
 */
export function resolvePath(path: string): string {
  if (path.startsWith("/")) return path.replace(/\/+$/, "") || "/";
  const base = initCwd() ?? Deno.cwd();
  const parts: string[] = [];
  for (const part of `${base}/${path}`.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}
