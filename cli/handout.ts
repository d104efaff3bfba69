/**
 * `deno task handout <dir>`: writes the student edition of this tree (no
 * solutions, no mistakes, no hidden checks, no instructor tools or documents)
 * into a new folder, checks it, and commits it as a fresh git repository,
 * ready to push as the course's template repository. See docs/grading.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/catalog.ts";
import { buildHandout, HandoutError } from "../lib/grader/handout.ts";
import { resolvePath } from "./resolve.ts";

const USAGE = `Usage: deno task handout [--no-git] <dir>

Writes the student edition of the labs into <dir> (a new or empty folder,
outside this tree): the labs with their stubs and visible checks, the library,
the runner, their tests and the students' README. Left out: solutions/, the
mistakes (tests/wrong/), every lab's hidden checks (checker/hidden*.ts), the
grader and the other instructor tools, docs/, bench/, .ci/, and the tests that
need what is left out. Then it checks the result (its own fmt, lint and type
check; no line of a solution; no link to a file left out) and commits it as
a new git repository (one commit), ready to push as the course's template.

  --no-git   do not run git init and commit
  -h, --help this help

Exit status: 0 when the handout was written, 1 when it was refused (nothing is
left behind), 2 for a usage error.`;

/** Runs the command with its arguments; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        "no-git": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`error: give the folder to write the handout into\n\n${USAGE}`);
    return 2;
  }
  const dest = resolvePath(parsed.positionals[0]);
  try {
    const report = await buildHandout({
      root: PROJECT_ROOT,
      dest,
      git: !parsed.values["no-git"],
      log: (line) => console.error(line),
    });
    console.log(`The student edition is in ${report.dest} (${report.files.length} files).`);
    console.log("Left out:");
    for (const { path, why } of report.left) console.log(`  ${path}  ${why}`);
    if (report.commit) {
      console.log(
        `\nIt is a git repository with one commit (${report.commit}). To publish it:\n` +
          `  cd ${report.dest} && git remote add origin <your template repository> && git push -u origin main`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof HandoutError) {
      console.error("error: the handout was not written:");
      for (const p of err.problems) console.error(`  - ${p}`);
      return 1;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
