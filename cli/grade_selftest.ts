/**
 * `deno task grade selftest`: grades every reference solution (full marks
 * expected) and every `.mistake` (it must lose the points it targets) on this
 * machine, and prints a verdict per lab. See docs/grading.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadCatalog, PROJECT_ROOT } from "../lib/catalog.ts";
import { selectLabs } from "../lib/grader/batch.ts";
import { Progress } from "../lib/grader/progress.ts";
import { formatSelfTest, selfTest, type SelfTestReport } from "../lib/grader/selftest.ts";
import { writeFileAtomic } from "../lib/grader/atomic.ts";
import { resolvePath } from "./resolve.ts";

const USAGE = `Usage: deno task grade selftest [--lab N …] [--jobs N] [--json FILE] [--quiet]

Grades, on this machine and with this tree's checkers, every lab's reference
solution (solutions/: it must score full marks, hidden checks included) and
every plausible wrong solution (tests/wrong/<lab>/*.mistake: it must lose the
points of each check its expect-fail lines name), then prints one verdict per
lab. Run it where the class will be graded (in the platform's container, see
\`deno task grade package\`), before the term.

Options:
  --lab ID     only this lab: id, number or slug (repeatable, or 0,3,5)
  --jobs N     labs graded at once (default: the number of cores)
  --json FILE  also write the verdicts as JSON
  --quiet      no progress lines
  -h, --help   this help

Exit status: 0 when every lab passes its self-test, 1 when one does not (or
cannot be self-tested: no solution, a checker that does not load), 2 for a
usage error.`;

/** Runs the self-test with its arguments; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        lab: { type: "string", multiple: true },
        jobs: { type: "string" },
        json: { type: "string" },
        "in-process": { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const labs = (values.lab ?? []).flatMap((l) => l.split(",")).map((l) => l.trim()).filter(
    Boolean,
  );
  try {
    selectLabs(loadCatalog(PROJECT_ROOT), labs);
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : err}`);
    return 2;
  }
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) {
    console.error("error: --jobs needs a whole number above 0");
    return 2;
  }
  let progress: Progress | undefined;
  if (!values.quiet) {
    const tty = Deno.stderr.isTerminal();
    progress = new Progress({ tty, color: tty && !Deno.noColor, columns: 80 });
  }
  const selected = selectLabs(loadCatalog(PROJECT_ROOT), labs);
  let report: SelfTestReport;
  try {
    if (selected.length > 1 && !values["in-process"]) {
      // One child process per lab: a grader keeps every overlay's modules loaded (about 10 MB
      // each, a hundred mistakes), so this bounds the memory to one lab's worth.
      report = await perLab(selected.map((l) => l.id), jobs, values.quiet);
    } else {
      report = await selfTest({
        labs: labs.length ? labs : undefined,
        jobs,
        onProgress: (e) => progress?.update(e),
      });
    }
  } catch (err) {
    progress?.finish();
    console.error(`error: the self-test failed: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
  progress?.finish();
  if (values.json) {
    const path = resolvePath(values.json);
    try {
      Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
      writeFileAtomic(path, JSON.stringify(report, null, 2) + "\n");
    } catch (err) {
      console.error(`error: cannot write ${path}: ${err instanceof Error ? err.message : err}`);
      return 1;
    }
  }
  if (!values["in-process"] || !values.json) console.log(formatSelfTest(report));
  return report.ok ? 0 : 1;
}

/** Runs the self-test of each lab in a child process of its own, and puts the reports together. */
async function perLab(
  labs: string[],
  jobs: number | undefined,
  quiet: boolean,
): Promise<SelfTestReport> {
  const start = performance.now();
  const dir = `${PROJECT_ROOT}/.mmap-lab/selftest`;
  Deno.mkdirSync(dir, { recursive: true });
  const results: SelfTestReport["labs"] = [];
  let kernel: string | undefined;
  for (const lab of labs) {
    const json = Deno.makeTempFileSync({ dir, prefix: `${lab}-`, suffix: ".json" });
    try {
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-q",
          "--config",
          `${PROJECT_ROOT}/deno.json`,
          "-P=grade",
          `${PROJECT_ROOT}/cli/grade.ts`,
          "selftest",
          "--in-process",
          "--lab",
          lab,
          "--json",
          json,
          ...(jobs ? ["--jobs", String(jobs)] : []),
          ...(quiet ? ["--quiet"] : []),
        ],
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      let part: SelfTestReport | undefined;
      try {
        part = JSON.parse(Deno.readTextFileSync(json));
      } catch { /* the child failed before writing it */ }
      if (!part?.labs?.length) {
        results.push({
          id: lab,
          maxScore: 0,
          solutionFailures: [],
          mistakes: [],
          ok: false,
          problem: `its self-test did not finish (exit status ${child.code})`,
        });
        continue;
      }
      results.push(...part.labs);
      kernel ??= part.kernel;
    } finally {
      try {
        Deno.removeSync(json);
      } catch { /* gone */ }
    }
  }
  return {
    labs: results,
    ok: results.every((r) => r.ok),
    kernel,
    durationMs: Math.round(performance.now() - start),
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
