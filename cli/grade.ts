/**
 * `deno task grade`: the instructor's grader. Grades a folder of submissions
 * (one sub-folder per student), or one submission for Gradescope or Autolab,
 * with the instructor's checkers on an overlay of each student's lab files.
 * See docs/grading.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  abandonRuns,
  gradeSubmissions,
  listSubmissions,
  mergeReports,
  pickSubmissions,
  type ProgressEvent,
  type Submission,
} from "../lib/grader/batch.ts";
import {
  autolabLine,
  formatCsv,
  formatStudentReport,
  formatSummary,
  formatTable,
  gradescopeResults,
  HINT_POLICIES,
  type HintPolicy,
  sanitize,
  type Visibility,
} from "../lib/grader/formats.ts";
import { Progress } from "../lib/grader/progress.ts";
import { prairielearnResults } from "../lib/grader/prairielearn.ts";
import { formatByCheck } from "../lib/grader/bycheck.ts";
import { writeFileAtomic } from "../lib/grader/atomic.ts";
import { outputProblem, outputProblems } from "../lib/grader/preflight.ts";
import { readGradeFile } from "../lib/grader/grade_file.ts";
import {
  type FinishedStudent,
  instructorDigest,
  Journal,
  type JournalContents,
  type JournalHeader,
  journalMismatch,
  journalPathFor,
  readJournal,
} from "../lib/grader/journal.ts";
import { kernelLabel, kernelProfile } from "../lib/profile.ts";
import type { GradeReport, LabGrade, StudentGrade } from "../lib/grader/types.ts";
import { loadCatalog, PROJECT_ROOT } from "../lib/catalog.ts";
import { projectLocationProblem } from "./ui.ts";
import { resolvePath } from "./resolve.ts";

export { resolvePath };
import { killAllChildren } from "../lib/checker/spawn.ts";
import { selectLabs } from "../lib/grader/batch.ts";
import { cpuTimeMs, getuid } from "../lib/sys.ts";
import { RUSAGE } from "../lib/ffi/constants.ts";
import { formatHtml } from "./grade_html.ts";

const USAGE = `Usage:
  deno task grade [options] <submissions-dir>     grade a class: one sub-folder per student
  deno task grade --gradescope [options]          grade /autograder/submission for Gradescope
  deno task grade --autolab [options] [<dir>]     grade one submission, Autolab's JSON line last
  deno task grade --prairielearn [options]        grade /grade/student for PrairieLearn
  deno task grade selftest [--lab N …]            grade the solutions and mistakes: a verdict per lab
  deno task grade package <platform> [options]    build the Gradescope, Autolab or PrairieLearn package

A submission is a copy of the repository, its labs/ folder, or the lab files
themselves; only the students' lab files are used, on a clean copy of this
tree (its checkers, lib/ and labs.json).

Options:
  --student NAME        grade only this student's sub-folder (repeatable)
  --lab ID              grade only this lab: id, number or slug (repeatable, or 0,3,5)
  --jobs N              labs graded at once (default: the number of cores: ${
  navigator.hardwareConcurrency ?? 1
})
  --csv FILE            write points per student and lab as CSV
  --json FILE           write every check's result as JSON
  --html FILE           write the class report as one HTML page: points per lab,
                        every check's pass rate, each student's messages
  --update              with --json: merge this run into the existing FILE
                        (re-grade one student or one lab, keep the rest)
  --by-check            after the summary: each failing check's likely mistakes, with
                        how many students each and who (among those who attempted)
  --resume              continue a class grading that was killed: the students
                        in the journal (FILE.journal, next to --json or --csv
                        FILE) are not graded again; same command otherwise
  --budget SECONDS      stop grading after this long; what is left is "not graded"
                        (default: none; 480 with --gradescope)
  --time-scale X        multiply every check's and child's time limit by X (a slow
                        grading machine; labs.json's "limits" set it per lab)
  --submission DIR      Gradescope: the submission (default /autograder/submission,
                        or $MMAP_LAB_SUBMISSION; PrairieLearn: /grade/student)
  --results FILE        Gradescope: results.json (default /autograder/results/results.json,
                        or $MMAP_LAB_RESULTS; PrairieLearn: /grade/results/results.json)
  --hidden-visibility V Gradescope visibility of hidden checks: after_published
                        (default), hidden, after_due_date, visible (students see them
                        and their points everywhere)
  --hints POLICY        hints of failed checks in what students read (Gradescope,
                        PrairieLearn, Autolab): all (default, as the runner shows them
                        once asked), first (the first failed check's of each lab), none
  --keep                keep the overlays under .mmap-lab/grading/ (to debug a checker)
  --child-uid N         as root: the children's users and groups are taken from
                        ids N to N+4999, skipping any an account, a group or a
                        process has (default 60000)
  --unsafe-as-root      as root: run the students' code as root, not as users
                        of its own (only inside a throw-away container that
                        holds nothing else; see docs/grading.md)
  --quiet               no progress lines
  -h, --help            this help

Relative paths are taken from the folder you ran the command in. With the
"grade" permission set, output files go under ./grades/, ./.mmap-lab/ or
/autograder/results/ (run \`deno run -A cli/grade.ts …\` to write elsewhere).

Exit status: 0 when grading worked (whatever the scores), 1 when grading
itself had a problem (a checker failed to load or threw, the time budget ran
out, an output could not be written), 2 for a usage error.`;

class UsageError extends Error {}

/** What to do before exiting on Ctrl-C or SIGTERM (Gradescope mode writes what it has). */
let beforeExit: (() => void) | undefined;

/**
 * On SIGINT/SIGTERM: kill every child's process group, delete the overlays,
 * run {@link beforeExit}, exit 130/143. Installed before any child starts, so
 * it runs before the checker framework's own handler.
 */
function stopOnSignals(): void {
  const stop = (code: number) => () => {
    killAllChildren();
    abandonRuns();
    try {
      beforeExit?.();
    } finally {
      Deno.exit(code);
    }
  };
  try {
    Deno.addSignalListener("SIGINT", stop(130));
    Deno.addSignalListener("SIGTERM", stop(143));
  } catch { /* no signals here */ }
}

function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no env permission for it
  }
}

const PERMISSION_ADVICE =
  ': the "grade" permission set writes under ./grades/, ./.mmap-lab/, /autograder/results/ and /grade/results/ (or run `deno run -A cli/grade.ts …`)';

/** Runs `write` (which writes `path`), turning a permission error into advice. */
function writing<T>(path: string, write: () => T): T {
  try {
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
    return write();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`no permission to write ${path}${PERMISSION_ADVICE}`);
    }
    throw err;
  }
}

function writeOutput(path: string, text: string): void {
  writing(path, () => writeFileAtomic(path, text));
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a positive number`);
  return n;
}

/** "up to 2 labs at a time … on 2 cores": how the grading was spread over the machine. */
function jobsUsed(jobs: number | undefined): string {
  const cores = navigator.hardwareConcurrency ?? 1;
  const n = Math.max(1, jobs ?? cores);
  return `up to ${n} lab${n === 1 ? "" : "s"} at a time (students and labs mixed) on ${cores} core${
    cores === 1 ? "" : "s"
  }`;
}

/** CPU time (user + system) of this process and of its children that have ended, s (NaN without FFI). */
function cpuSeconds(): number {
  try {
    return (cpuTimeMs(RUSAGE.SELF) + cpuTimeMs(RUSAGE.CHILDREN)) / 1000;
  } catch {
    return NaN; // no FFI: the line says less
  }
}

/**
 * ", 1.7 of them busy on average (212 s of CPU)": how much of the machine the
 * grading used, to choose `--jobs` by (a few busy cores with many idle means
 * the checks mostly wait: more jobs would help).
 */
function coresBusy(cpu: number, wall: number): string {
  if (!Number.isFinite(cpu) || wall <= 0) return "";
  return `, ${(cpu / wall).toFixed(1)} of them busy on average (${cpu.toFixed(0)} s of CPU)`;
}

const VISIBILITIES = ["after_published", "hidden", "after_due_date", "visible"];

interface Options {
  labs?: string[];
  jobs?: number;
  budgetMs?: number;
  timeScale?: number;
  keep: boolean;
  /** As root: the first id of the children's users (`--child-uid`). */
  childIdBase?: number;
  /** As root: run students' code as root (`--unsafe-as-root`). */
  unsafeAsRoot?: boolean;
}

function useColor(stream: { isTerminal(): boolean }): boolean {
  return stream.isTerminal() && !Deno.noColor;
}

function progressFor(quiet: boolean): Progress | undefined {
  if (quiet) return undefined;
  const tty = Deno.stderr.isTerminal();
  let columns = 80;
  try {
    if (tty) columns = Deno.consoleSize().columns;
  } catch { /* not a terminal after all */ }
  return new Progress({ tty, color: tty && !Deno.noColor, columns });
}

/**
 * The journal of this run (next to the --json file, else the --csv file):
 * on --resume, the students it holds that `header` allows; otherwise a new
 * one, replacing any left by an interrupted run. Throws a UsageError when the
 * journal to resume belongs to another grading.
 */
function openJournal(
  path: string,
  header: JournalHeader,
  resume: boolean,
): { journal: Journal; finished: Map<string, FinishedStudent> } {
  let found: JournalContents | undefined;
  try {
    found = readJournal(path);
  } catch (err) {
    if (resume) {
      throw new UsageError(
        `cannot --resume: ${
          err instanceof Error ? err.message : err
        } (run without --resume to start over)`,
      );
    }
    found = undefined; // not ours to resume: replaced below
  }
  let finished = new Map<string, FinishedStudent>();
  if (resume && !found) {
    console.error(`no journal at ${path}: nothing to resume, grading the whole class`);
  } else if (resume && found) {
    const mismatch = journalMismatch(found.header, header);
    if (mismatch.length) {
      throw new UsageError(
        `cannot --resume: ${path} belongs to another grading: ${
          mismatch.join("; ")
        }. Resume with the same command as before, or run without --resume to start over`,
      );
    }
    finished = new Map([...found.finished].filter(([name]) => header.students.includes(name)));
    console.error(
      `resuming from ${path}: ${finished.size} of ${header.students.length} student${
        header.students.length === 1 ? "" : "s"
      } already graded${found.torn ? " (a last line cut short by the kill was dropped)" : ""}`,
    );
  } else if (found) {
    console.error(
      `an interrupted grading left ${path}: starting over (to continue it instead, run the same command with --resume)`,
    );
  }
  const journal = writing(
    path,
    () =>
      Journal.start(
        path,
        { ...header, startedAt: found?.header.startedAt ?? header.startedAt },
        finished.values(),
      ),
  );
  return { journal, finished };
}

async function gradeClass(
  dir: string,
  students: string[],
  options: Options,
  out: {
    csv?: string;
    json?: string;
    html?: string;
    update: boolean;
    resume: boolean;
    quiet: boolean;
    byCheck?: boolean;
  },
): Promise<number> {
  let submissions: Submission[];
  try {
    submissions = listSubmissions(dir);
  } catch (err) {
    throw new UsageError(`cannot read ${dir}: ${err instanceof Error ? err.message : err}`);
  }
  if (students.length) {
    try {
      submissions = pickSubmissions(submissions, students);
    } catch (err) {
      throw new UsageError(`${err instanceof Error ? err.message : err} in ${dir}`);
    }
  }
  if (!submissions.length) throw new UsageError(`${dir} has no sub-folders (one per student)`);
  if (out.update && !out.json) throw new UsageError("--update needs --json FILE");
  // Every output must be writable before grading starts: a class can take twenty minutes.
  const unwritable = outputProblems([out.csv, out.json, out.html], PERMISSION_ADVICE);
  if (unwritable.length) throw new Error(`${unwritable.join("; ")}; nothing was graded`);
  // Check the file to update before grading anything: a class can take an hour.
  let previous: GradeReport | undefined;
  if (out.update && out.json) {
    try {
      previous = readGradeFile(out.json);
    } catch (err) {
      throw new UsageError(
        `cannot --update: ${err instanceof Error ? err.message : err}; nothing was graded`,
      );
    }
  }

  // --update keeps every output of the grades file in step: the CSV it was written with
  // before is written again (or, when it cannot be, named as left stale).
  let csv = out.csv;
  let csvNote = "";
  const earlierCsv = previous?.outputs?.csv;
  if (out.update && !csv && earlierCsv) {
    const problem = outputProblem(earlierCsv, PERMISSION_ADVICE);
    if (problem) {
      console.error(
        `warning: ${earlierCsv}, written with ${out.json} before, will be left stale: ${problem} (give --csv FILE to write another)`,
      );
    } else {
      csv = earlierCsv;
      csvNote = ` (written with ${out.json} before: kept in step)`;
    }
  }

  // The journal, next to the grades file: what --resume continues from after a kill.
  const output = out.json ?? out.csv;
  if (out.resume && !output) {
    throw new UsageError(
      "--resume needs --json FILE or --csv FILE: the journal is kept next to it",
    );
  }
  const labInfos = selectLabs(loadCatalog(PROJECT_ROOT), options.labs);
  let journal: Journal | undefined;
  let finished = new Map<string, FinishedStudent>();
  if (output) {
    const header: JournalHeader = {
      format: "mmap-lab-journal",
      version: 1,
      submissions: dir,
      students: submissions.map((s) => s.name),
      labs: labInfos.map((l) => l.id),
      update: out.update,
      instructor: instructorDigest(PROJECT_ROOT, labInfos),
      kernel: kernelLabel(kernelProfile(PROJECT_ROOT)),
      startedAt: new Date().toISOString(),
    };
    try {
      ({ journal, finished } = openJournal(journalPathFor(output), header, out.resume));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new Error(
        `${
          err instanceof Error ? err.message : err
        }; nothing was graded (the grades file would not be writable either)`,
      );
    }
  }
  const done = new Set<string>(); // students in the journal once grading ends

  const progress = progressFor(out.quiet);
  let report: GradeReport;
  const cpuAtStart = cpuSeconds();
  const wallAtStart = performance.now();
  try {
    report = await gradeSubmissions({
      submissions,
      labs: options.labs,
      jobs: options.jobs,
      budgetMs: options.budgetMs,
      timeScale: options.timeScale,
      keep: options.keep,
      childIdBase: options.childIdBase,
      unsafeAsRoot: options.unsafeAsRoot,
      onProgress: (e) => progress?.update(e),
      finished,
      onFinished: journal
        ? (entry) => {
          journal.append(entry);
          done.add(entry.name);
        }
        : undefined,
    });
  } finally {
    journal?.close();
  }
  progress?.finish();
  const problems = [...report.problems];
  const taken = report.students.filter((s) => finished.get(s.name)?.student === s);
  for (const s of taken) done.add(s.name);
  const fromJournal = taken.length;

  if (previous) report = mergeReports(previous, report);
  if (out.json && csv) report = { ...report, outputs: { ...report.outputs, csv } };
  const color = useColor(Deno.stdout);
  console.log(formatTable(report, { color }));
  console.log("");
  console.log(formatSummary(report, { color }));
  if (out.byCheck) console.log("\n" + formatByCheck(report));
  const failures: string[] = [];
  for (
    const [path, text] of [
      [csv, () => formatCsv(report)],
      [out.json, () => JSON.stringify(report, null, 2) + "\n"],
      [out.html, () => formatHtml(report)],
    ] as const
  ) {
    if (!path) continue;
    try {
      writeOutput(path, text());
      console.error(`wrote ${path}${path === csv ? csvNote : ""}`);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  for (const f of failures) console.error(`error: ${f}`);
  if (journal) {
    const unfinished = submissions.filter((s) => !s.rejected && !done.has(s.name)).length;
    if (journal.failure) {
      console.error(
        `warning: the journal ${journal.path} stopped taking students (${journal.failure}): --resume would grade the later ones again`,
      );
    }
    if (failures.length || unfinished) {
      console.error(
        `kept ${journal.path}: ${
          failures.length
            ? "an output was not written"
            : `${unfinished} student${
              unfinished === 1 ? "" : "s"
            } not finished (grading problems, the budget)`
        }; the same command with --resume grades only what is missing`,
      );
    } else {
      journal.remove();
    }
  }
  const gradable = submissions.filter((s) => !s.rejected).length;
  const rejected = submissions.length - gradable;
  console.error(
    `graded ${gradable} submission${gradable === 1 ? "" : "s"} × ${report.labs.length} lab${
      report.labs.length === 1 ? "" : "s"
    } in ${(report.durationMs / 1000).toFixed(1)} s, ${jobsUsed(options.jobs)}${
      coresBusy(cpuSeconds() - cpuAtStart, (performance.now() - wallAtStart) / 1000)
    }${fromJournal ? ` (${fromJournal} taken from the journal)` : ""}${
      rejected ? `; ${rejected} not graded (see the table)` : ""
    }`,
  );
  return problems.length || failures.length ? 1 : 0;
}

function partialStudent(name: string, dir: string, grades: LabGrade[]): StudentGrade {
  return {
    name,
    submission: dir,
    labs: grades,
    score: grades.reduce((s, g) => s + g.score, 0),
    maxScore: grades.reduce((s, g) => s + g.maxScore, 0),
    notes: [],
  };
}

/** The results file of a one-submission platform, from a student's grades. */
type ResultsFormat = (
  student: StudentGrade,
  options: {
    executionTime: number;
    hiddenVisibility: Visibility;
    message?: string;
    gradable: boolean;
    hints: HintPolicy;
  },
) => unknown;

const gradescopeFormat: ResultsFormat = (student, options) => gradescopeResults(student, options);
const prairielearnFormat: ResultsFormat = (student, options) =>
  prairielearnResults(student, options);

async function gradescope(
  submission: string,
  resultsPath: string,
  options: Options,
  hiddenVisibility: Visibility,
  quiet: boolean,
  format: ResultsFormat = gradescopeFormat,
  hints: HintPolicy = "all",
): Promise<number> {
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  // Nothing can be reported without the results file: find out before grading.
  const unwritable = outputProblem(resultsPath, PERMISSION_ADVICE);
  if (unwritable) {
    console.error(`error: ${unwritable}; nothing was graded`);
    return 1;
  }
  const finished: LabGrade[] = [];
  let written = false;
  const write = (results: unknown) => {
    writeOutput(resultsPath, JSON.stringify(results, null, 2) + "\n");
    written = true;
  };
  const writePartial = (message: string) => {
    if (written) return;
    write(format(partialStudent("submission", submission, finished), {
      executionTime: elapsed(),
      hiddenVisibility,
      message,
      gradable: false,
      hints,
    }));
  };
  beforeExit = () => writePartial("Grading was stopped; the labs graded so far are below.");
  // Last line of defence: if grading outlives its budget by far, write what we have.
  const watchdog = setTimeout(() => {
    try {
      killAllChildren();
      writePartial("Grading ran out of time; the labs graded so far are below.");
    } finally {
      Deno.exit(1);
    }
  }, (options.budgetMs ?? 480_000) + 30_000);
  try {
    const progress = progressFor(quiet);
    const report = await gradeSubmissions({
      submissions: [{ name: "submission", dir: submission }],
      labs: options.labs,
      jobs: options.jobs,
      budgetMs: options.budgetMs,
      timeScale: options.timeScale,
      keep: options.keep,
      childIdBase: options.childIdBase,
      unsafeAsRoot: options.unsafeAsRoot,
      onProgress: (e: ProgressEvent) => {
        if (e.kind === "done" && e.grade) finished.push(e.grade);
        progress?.update(e);
      },
    });
    progress?.finish();
    const student = report.students[0];
    write(format(student, {
      executionTime: elapsed(),
      hiddenVisibility,
      hints,
      gradable: report.problems.length === 0,
      message: report.problems.length
        ? "Some labs could not be graded because of a problem with the grader; your instructor will look at it."
        : undefined,
    }));
    console.log(formatStudentReport(report, student));
    if (report.problems.length) console.log("\n" + formatSummary(report));
    console.error(`wrote ${resultsPath}`);
    return report.problems.length ? 1 : 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`error: ${message}`);
    writePartial(`The autograder failed: ${message}. Your instructor will look at it.`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    clearTimeout(watchdog);
  }
}

async function autolab(
  dir: string,
  options: Options,
  hiddenVisibility: Visibility,
  hints: HintPolicy,
): Promise<number> {
  const labIds = selectLabs(loadCatalog(PROJECT_ROOT), options.labs).map((l) => l.id);
  let report: GradeReport | undefined;
  let failure: string | undefined;
  try {
    report = await gradeSubmissions({
      submissions: [{ name: "submission", dir }],
      labs: options.labs,
      jobs: options.jobs,
      budgetMs: options.budgetMs,
      timeScale: options.timeScale,
      keep: options.keep,
      childIdBase: options.childIdBase,
      unsafeAsRoot: options.unsafeAsRoot,
    });
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  const student = report?.students[0];
  if (report && student) {
    // The feedback is the student's: hidden checks stay out of it, and out of the scores line.
    console.log(formatStudentReport(report, student, {
      visibleOnly: hiddenVisibility !== "visible",
      hints,
    }));
  }
  if (report?.problems.length) {
    console.log(
      "\nGrading problems:\n" + report.problems.map((p) => `  - ${sanitize(p)}`).join("\n"),
    );
  }
  if (failure) console.log(`The autograder failed: ${sanitize(failure)}`);
  // Autolab reads the last line of the output: it must be ours, and last.
  console.log(autolabLine(student, labIds, { countHidden: hiddenVisibility === "visible" }));
  return failure || report?.problems.length ? 1 : 0;
}

/** Runs the grader with command-line arguments; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const misplaced = projectLocationProblem(PROJECT_ROOT);
  if (misplaced) {
    console.error(`error: ${misplaced}`);
    return 2;
  }
  // Sub-commands (a class folder of that name is graded as ./selftest).
  if (argv[0] === "selftest") return (await import("./grade_selftest.ts")).main(argv.slice(1));
  if (argv[0] === "package") return (await import("./grade_package.ts")).main(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        student: { type: "string", multiple: true },
        lab: { type: "string", multiple: true },
        jobs: { type: "string" },
        csv: { type: "string" },
        json: { type: "string" },
        html: { type: "string" },
        update: { type: "boolean", default: false },
        resume: { type: "boolean", default: false },
        "by-check": { type: "boolean", default: false },
        budget: { type: "string" },
        "time-scale": { type: "string" },
        gradescope: { type: "boolean", default: false },
        autolab: { type: "boolean", default: false },
        prairielearn: { type: "boolean", default: false },
        submission: { type: "string" },
        results: { type: "string" },
        "hidden-visibility": { type: "string" },
        hints: { type: "string" },
        keep: { type: "boolean", default: false },
        "child-uid": { type: "string" },
        "unsafe-as-root": { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  stopOnSignals();
  try {
    if ([v.gradescope, v.autolab, v.prairielearn].filter(Boolean).length > 1) {
      throw new UsageError("choose one of --gradescope, --autolab and --prairielearn");
    }
    if (v.resume && (v.gradescope || v.autolab || v.prairielearn)) {
      throw new UsageError(
        "--resume continues a class; --gradescope and --autolab grade one submission",
      );
    }
    const jobs = positiveNumber(v.jobs, "--jobs");
    if (jobs !== undefined && !Number.isInteger(jobs)) {
      throw new UsageError("--jobs needs a whole number");
    }
    const budget = positiveNumber(v.budget, "--budget");
    const labs = (v.lab ?? []).flatMap((l) => l.split(",")).map((l) => l.trim()).filter(Boolean);
    // Reject an unknown lab before any grading starts.
    try {
      selectLabs(loadCatalog(PROJECT_ROOT), labs);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const visibility = v["hidden-visibility"] ?? "after_published";
    if (!VISIBILITIES.includes(visibility)) {
      throw new UsageError(`--hidden-visibility must be one of ${VISIBILITIES.join(", ")}`);
    }
    const hints = (v.hints ?? "all") as HintPolicy;
    if (!HINT_POLICIES.includes(hints)) {
      throw new UsageError(`--hints must be one of ${HINT_POLICIES.join(", ")}`);
    }
    const childIdBase = positiveNumber(v["child-uid"], "--child-uid");
    if (childIdBase !== undefined && !Number.isInteger(childIdBase)) {
      throw new UsageError("--child-uid needs a whole number");
    }
    if (v["unsafe-as-root"] && childIdBase !== undefined) {
      throw new UsageError("choose --child-uid or --unsafe-as-root");
    }
    const options: Options = {
      labs: labs.length ? labs : undefined,
      jobs,
      budgetMs: budget !== undefined ? budget * 1000 : undefined,
      timeScale: positiveNumber(v["time-scale"], "--time-scale"),
      keep: v.keep,
      childIdBase,
      unsafeAsRoot: v["unsafe-as-root"],
    };
    if (options.unsafeAsRoot && getuid() === 0) {
      console.error(
        "warning: --unsafe-as-root: the students' code runs as root, and can read and change " +
          "anything here (solutions, grades, other submissions, the checkers)",
      );
    }
    if (v.gradescope || v.prairielearn) {
      const flag = v.gradescope ? "--gradescope" : "--prairielearn";
      if (positionals.length) throw new UsageError(`${flag} takes no folder: use --submission`);
      const base = v.gradescope ? "/autograder" : "/grade";
      const submission = resolvePath(
        v.submission ?? envVar("MMAP_LAB_SUBMISSION") ??
          (v.gradescope ? `${base}/submission` : `${base}/student`),
      );
      const results = resolvePath(
        v.results ?? envVar("MMAP_LAB_RESULTS") ?? `${base}/results/results.json`,
      );
      return await gradescope(
        submission,
        results,
        { ...options, budgetMs: options.budgetMs ?? (v.gradescope ? 480_000 : 540_000) },
        visibility as Visibility,
        v.quiet,
        v.gradescope ? gradescopeFormat : prairielearnFormat,
        hints,
      );
    }
    if (v.autolab) {
      if (positionals.length > 1) throw new UsageError("--autolab takes one submission folder");
      return await autolab(
        resolvePath(positionals[0] ?? "."),
        options,
        visibility as Visibility,
        hints,
      );
    }
    if (positionals.length !== 1) {
      throw new UsageError("give the submissions folder (one sub-folder per student)");
    }
    return await gradeClass(resolvePath(positionals[0]), v.student ?? [], options, {
      csv: v.csv ? resolvePath(v.csv) : undefined,
      json: v.json ? resolvePath(v.json) : undefined,
      html: v.html ? resolvePath(v.html) : undefined,
      update: v.update,
      resume: v.resume,
      quiet: v.quiet,
      byCheck: v["by-check"],
    });
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n(deno task grade --help for usage)`);
      return 2;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
