/**
 * A throw-away copy of the project for runner tests (so reset, state and
 * edits never touch the real tree): `lib/`, `cli/`, `deno.json` and the labs
 * asked for with their solutions, in a fresh git repository.
 *
 * @module
 */

import { PROJECT_ROOT } from "../../lib/catalog.ts";

const decoder = new TextDecoder();

/**
 * Makes the copy under `.mmap-lab/test-scratch/` and returns its path.
 *
 * @example
 * ```ts ignore
 * const dir = makeProject(["00_hello_mapping"]);
 * ```
 */
export function makeProject(labs: string[] = ["00_hello_mapping"]): string {
  const base = `${PROJECT_ROOT}/.mmap-lab/test-scratch`;
  Deno.mkdirSync(base, { recursive: true });
  const dir = Deno.makeTempDirSync({ dir: base, prefix: "cli-" });
  const copy = (from: string, to: string) => {
    const info = Deno.statSync(from);
    if (info.isDirectory) {
      Deno.mkdirSync(to, { recursive: true });
      for (const e of Deno.readDirSync(from)) copy(`${from}/${e.name}`, `${to}/${e.name}`);
    } else Deno.copyFileSync(from, to);
  };
  const parts = [
    "lib",
    "cli",
    "deno.json",
    ...labs.flatMap((l) => [`labs/${l}`, `solutions/${l}`]),
  ];
  for (const part of parts) copy(`${PROJECT_ROOT}/${part}`, `${dir}/${part}`);
  const catalog = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/labs/labs.json`));
  catalog.labs = catalog.labs.filter((l: { id: string }) => labs.includes(l.id));
  Deno.writeTextFileSync(`${dir}/labs/labs.json`, JSON.stringify(catalog, null, 2));
  for (
    const args of [
      ["init", "-q"],
      ["add", "-A"],
      ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "start"],
    ]
  ) {
    const r = new Deno.Command("git", { args, cwd: dir, stdout: "null", stderr: "piped" })
      .outputSync();
    if (!r.success) throw new Error(decoder.decode(r.stderr));
  }
  return dir;
}

/** The command line that starts the runner as `deno task lab` does. */
export const LAB_COMMAND = ["run", "-q", "--no-prompt", "-P=lab", "cli/lab.ts"];

/**
 * Runs the runner in `dir` in a pipe and returns its exit code and output.
 *
 * @example
 * ```ts ignore
 * const r = await lab(dir, "check", "0");
 * ```
 */
export async function lab(
  dir: string,
  ...args: string[]
): Promise<{ code: number; out: string; stdout: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...LAB_COMMAND, ...args],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "" },
  }).output();
  const stdout = decoder.decode(r.stdout);
  return { code: r.code, out: stdout + decoder.decode(r.stderr), stdout };
}
