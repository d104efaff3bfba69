/**
 * A throw-away copy of the instructor's tree for the tests of the tools that
 * read the whole tree (the handout, the packages, the self-test): every file
 * git knows of or would add (tracked, and untracked but not ignored), in a
 * fresh git repository of its own with one commit.
 *
 * @module
 */

import { PROJECT_ROOT } from "./fixtures.ts";

const decoder = new TextDecoder();

/** Runs git in `cwd`; throws with its output when it fails. Returns its standard output. */
export function git(cwd: string, ...args: string[]): string {
  const r = new Deno.Command("git", {
    args: ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).outputSync();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${decoder.decode(r.stderr)}`);
  return decoder.decode(r.stdout);
}

/**
 * Copies the project into `dest` (which must not exist) and commits it.
 * `filter` picks the files (paths relative to the project).
 *
 * @example
 * ```ts ignore
 * copyCourse(`${dir}/course`, (f) => !f.startsWith("bench/"));
 * ```
 */
export function copyCourse(dest: string, filter: (path: string) => boolean = () => true): void {
  const files = git(PROJECT_ROOT, "ls-files", "-z", "-co", "--exclude-standard")
    .split("\0").filter((f) => f && filter(f));
  for (const file of files) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(`${PROJECT_ROOT}/${file}`);
    } catch {
      continue; // deleted in the working tree
    }
    if (!info.isFile) continue;
    const target = `${dest}/${file}`;
    Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    Deno.copyFileSync(`${PROJECT_ROOT}/${file}`, target);
  }
  git(dest, "init", "-q");
  git(dest, "add", "-A");
  git(dest, "commit", "-qm", "course");
}

/** Runs `deno task <args>` in `cwd`, as an instructor or a student types it. */
export async function task(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = decoder.decode(r.stdout);
  const stderr = decoder.decode(r.stderr);
  return {
    code: r.code,
    stdout,
    stderr,
    out: `exit ${r.code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
  };
}
