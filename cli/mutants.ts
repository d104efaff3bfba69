/**
 * `deno task mutants`: how reliably the checks catch each plausible mistake
 * (`tests/wrong/<lab>/*.mistake`), for contributors and instructors. Grades
 * every mistake N times and prints its catch rate, which checks failed, and
 * in how many runs the message matched the mistake's `expect-fail` pattern;
 * optionally grades each reference solution N times too, and loads every core
 * with a busy process meanwhile (racy checks must hold under load).
 *
 * Not a student command: it needs `tests/` and `solutions/`, which a student
 * handout does not ship. CI grades each mistake once (`tests/labs_test.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { findLab, type LabInfo, loadCatalog, PROJECT_ROOT, solutionFile } from "../lib/catalog.ts";
import { runLab } from "../lib/checker/run.ts";
import { killAllChildren } from "../lib/checker/spawn.ts";
import { judge, labMistakes, MistakeError } from "../lib/grader/mistakes.ts";

const USAGE = `Usage: deno task mutants [lab ...] [options]

Grades every plausible wrong solution (tests/wrong/<lab>/*.mistake) of the
labs named (all labs without one) N times, and prints for each its catch rate
(runs where every check its expect-fail lines name failed with a matching
message), the checks that failed, and in how many runs the message matched.

Options:
  --repeat N     grade each mistake N times (default 1)
  --load         keep every core busy with a spinning process while grading
  --solutions    also grade each reference solution N times (it must pass)
  --mistake NAME only the mistakes of this name (repeatable)
  --json         print the results as JSON instead of tables
  --help         this text

A lab is named by number (7, 07), id (07_shared_counter) or slug.
Exit status 0 only if every mistake was caught in every run and every
solution graded passed in every run.`;

/** What one mistake (or one reference solution) did over its runs. */
export interface MutantReport {
  lab: string;
  /** The mistake's name, or `"(solution)"`. */
  name: string;
  kind: "mistake" | "solution";
  runs: number;
  /** Mistakes: runs where every expected check failed with a matching message. Solutions: runs passed. */
  good: number;
  /** Mistakes: runs where every expected check failed (whatever the message). */
  failedAsExpected: number;
  /** Mistakes: runs where every failed expected check's message matched. */
  patternMatched: number;
  /** Failed checks over all runs: id → runs it failed in. */
  failedChecks: Record<string, number>;
  /** The first message of each failed check the mistake does not declare (all, for a solution). */
  messages: Record<string, string>;
  /** The expected check ids (mistakes). */
  expected: string[];
  /** A problem that kept it from being graded (no longer fits the solution, checker error). */
  problem?: string;
  /** Wall-clock ms over all runs. */
  durationMs: number;
}

/** The whole run. */
export interface MutantsSummary {
  reports: MutantReport[];
  repeat: number;
  load: boolean;
  /** Mistakes caught in every run, of all mistakes graded. */
  caught: number;
  mistakes: number;
  /** Solutions that passed every run, of all graded (0 of 0 without --solutions). */
  solutionsPassed: number;
  solutions: number;
  durationMs: number;
}

/** Options of {@link runMutants}. */
export interface MutantsOptions {
  labs: LabInfo[];
  repeat: number;
  solutions: boolean;
  load: boolean;
  /** Only mistakes of these names. */
  names?: string[];
  /** After each graded run. */
  onRun?: (report: MutantReport, run: number) => void;
}

/** Starts one busy process per core; returns a function that stops them. */
export function loadCores(cores = navigator.hardwareConcurrency ?? 1): () => Promise<void> {
  const spinners = Array.from({ length: cores }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "let x = 0; for (;;) x = (x + 1) | 0;"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn());
  return async () => {
    for (const p of spinners) {
      try {
        p.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await Promise.allSettled(spinners.map((p) => p.status));
  };
}

/** Grades the mistakes (and solutions) of `options.labs`, one run at a time. */
export async function runMutants(options: MutantsOptions): Promise<MutantsSummary> {
  const catalog = loadCatalog();
  const started = performance.now();
  const stopLoad = options.load ? loadCores() : undefined;
  const reports: MutantReport[] = [];
  try {
    for (const lab of options.labs) {
      const solution = solutionFile(catalog.root, lab);
      const subjects: {
        name: string;
        kind: MutantReport["kind"];
        path: () => string;
        expects: ReturnType<typeof labMistakes>[number]["expects"];
      }[] = [];
      if (options.solutions) {
        subjects.push({ name: "(solution)", kind: "solution", path: () => solution, expects: [] });
      }
      for (const m of labMistakes(catalog.root, lab.id, solution)) {
        if (options.names && !options.names.includes(m.name)) continue;
        subjects.push({ name: m.name, kind: "mistake", path: m.materialize, expects: m.expects });
      }
      for (const subject of subjects) {
        const report: MutantReport = {
          lab: lab.id,
          name: subject.name,
          kind: subject.kind,
          runs: 0,
          good: 0,
          failedAsExpected: 0,
          patternMatched: 0,
          failedChecks: {},
          messages: {},
          expected: subject.expects.map((e) => e.id),
          durationMs: 0,
        };
        reports.push(report);
        let studentFile: string;
        try {
          studentFile = subject.path();
        } catch (err) {
          if (!(err instanceof MistakeError)) throw err;
          report.problem = err.message;
          continue;
        }
        for (let run = 1; run <= options.repeat; run++) {
          const result = await runLab(catalog, lab, { studentFile, includeHidden: true });
          report.runs++;
          report.durationMs += result.durationMs;
          for (const c of result.checks.filter((c) => c.status === "failed")) {
            report.failedChecks[c.id] = (report.failedChecks[c.id] ?? 0) + 1;
            if (!report.expected.includes(c.id) && !(c.id in report.messages)) {
              report.messages[c.id] = [c.message, c.details.observed].filter((t) => t).join(
                "; observed: ",
              );
            }
          }
          const internal = result.checks.filter((c) => c.internalError);
          if (result.error || internal.length > 0) {
            report.problem = result.error ??
              `checker error in ${internal[0].id}: ${internal[0].message}`;
          }
          if (subject.kind === "solution") {
            if (result.passed) report.good++;
          } else {
            const verdicts = judge(result.checks, subject.expects);
            const failed = verdicts.every((v) => v.failed);
            if (failed) report.failedAsExpected++;
            if (verdicts.every((v) => !v.failed || v.matched)) report.patternMatched++;
            if (failed && verdicts.every((v) => v.matched)) report.good++;
          }
          options.onRun?.(report, run);
        }
      }
    }
  } finally {
    await stopLoad?.();
  }
  const mistakes = reports.filter((r) => r.kind === "mistake");
  const solutions = reports.filter((r) => r.kind === "solution");
  const perfect = (r: MutantReport) => r.runs === options.repeat && r.good === r.runs;
  return {
    reports,
    repeat: options.repeat,
    load: options.load,
    caught: mistakes.filter(perfect).length,
    mistakes: mistakes.length,
    solutionsPassed: solutions.filter(perfect).length,
    solutions: solutions.length,
    durationMs: performance.now() - started,
  };
}

/** "4 min 07 s", "12.3 s". */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, "0")} s`;
}

/** The one-line summary: "K of M mistakes caught N/N; solutions passed N/N". */
export function summaryLine(s: MutantsSummary): string {
  const n = `${s.repeat}/${s.repeat}`;
  let line = `${s.caught} of ${s.mistakes} mistakes caught ${n}`;
  if (s.solutions > 0) {
    line += s.solutionsPassed === s.solutions
      ? `; solutions passed ${n}`
      : `; ${s.solutionsPassed} of ${s.solutions} solutions passed ${n}`;
  }
  return `${line}${s.load ? " (every core loaded)" : ""}, in ${duration(s.durationMs)}`;
}

/** The tables: one per lab, a row per mistake (and solution). */
export function formatTables(s: MutantsSummary): string {
  const lines: string[] = [];
  const labs = [...new Set(s.reports.map((r) => r.lab))];
  for (const lab of labs) {
    const rows = s.reports.filter((r) => r.lab === lab);
    const width = Math.max(10, ...rows.map((r) => r.name.length));
    lines.push(`${lab}`);
    lines.push(`  ${"mistake".padEnd(width)}  caught  pattern  failed checks (runs)`);
    for (const r of rows) {
      const rate = (k: number) => `${k}/${r.runs}`.padEnd(r.kind === "solution" ? 7 : 7);
      const failed = Object.entries(r.failedChecks)
        .map(([id, k]) => `${r.expected.includes(id) ? "" : "+"}${id} ${k}`).join(", ") || "none";
      const caught = r.kind === "solution" ? `${r.good}/${r.runs} passed` : rate(r.good);
      const pattern = r.kind === "solution" ? "" : `${rate(r.patternMatched)}  `;
      const mark = r.runs > 0 && r.good === r.runs ? " " : "!";
      lines.push(
        `${mark} ${r.name.padEnd(width)}  ${caught} ${pattern}${failed}` +
          (r.problem ? `\n    problem: ${r.problem}` : ""),
      );
      if (r.kind === "solution") {
        for (const [id, message] of Object.entries(r.messages)) {
          lines.push(`    ${id}: ${message.replace(/\s+/g, " ").slice(0, 300)}`);
        }
      }
    }
  }
  lines.push("(+ marks a failed check the mistake does not declare; ! a row not perfect)");
  return lines.join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      repeat: { type: "string", default: "1" },
      load: { type: "boolean", default: false },
      solutions: { type: "boolean", default: false },
      mistake: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    console.error(`--repeat wants a whole number of at least 1, not ${values.repeat}\n\n${USAGE}`);
    Deno.exit(2);
  }
  const catalog = loadCatalog(PROJECT_ROOT);
  const labs: LabInfo[] = [];
  for (const name of positionals.flatMap((p) => p.split(","))) {
    const lab = findLab(catalog, name);
    if (!lab) {
      console.error(`no lab ${JSON.stringify(name)}\n\n${USAGE}`);
      Deno.exit(2);
    }
    labs.push(lab);
  }
  const stop = () => {
    killAllChildren();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stop);
  const summary = await runMutants({
    labs: labs.length ? labs : catalog.labs,
    repeat,
    solutions: values.solutions,
    load: values.load,
    names: values.mistake,
    onRun: values.json ? undefined : (r, run) => {
      const mark = r.kind === "solution"
        ? (r.good === r.runs ? "." : "F")
        : (r.good === r.runs ? "." : "M");
      if (run === 1) Deno.stderr.writeSync(new TextEncoder().encode(`${r.lab} ${r.name} `));
      Deno.stderr.writeSync(new TextEncoder().encode(run === repeat ? `${mark}\n` : mark));
    },
  });
  Deno.removeSignalListener("SIGINT", stop);
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(`${formatTables(summary)}\n\n${summaryLine(summary)}`);
  const ok = summary.caught === summary.mistakes &&
    summary.solutionsPassed === summary.solutions;
  Deno.exit(ok ? 0 : 1);
}
