/**
 * Section 4: the lab's tools (runner and grader), timed as a student and an
 * instructor meet them:
 *
 * - `deno task lab list`: wall time from spawn to exit (the first screen),
 *   several rounds;
 * - `deno task lab check --all` with every reference solution in place: one
 *   round (it runs every check of every lab);
 * - `deno task grade` over 40 copies of the reference solutions: submissions
 *   per minute, the CPU time it took (the grader and every child), and every
 *   student must get full marks.
 *
 * The runner keeps state (`.mmap-lab/state.json`) and restores stubs from
 * git, so it runs in a throw-away copy of the project (a git repository of
 * its own) under `.mmap-lab/bench/tools-project/`, never in this checkout.
 * The grader runs from this checkout: it only writes under `./.mmap-lab`.
 *
 * `--quick`: `lab list` once, no `check --all`, and 2 submissions graded on
 * lab 0 only.
 *
 * @module
 */

import { cpSync, rmSync } from "node:fs";
import {
  type BenchOptions,
  childrenCpuMs,
  measure,
  progress,
  type Ratio,
  type Section,
  summarize,
} from "./harness.ts";
import { ROOT, WORK_DIR } from "./native.ts";
import { type LabInfo, loadCatalog } from "../lib/catalog.ts";

const TITLE = "Tools: runner and grader";

/** The throw-away copy of the project the runner is timed in. */
const PROJECT = `${WORK_DIR}/tools-project`;
/** The grader's input: one folder per student. */
const SUBMISSIONS = `${WORK_DIR}/submissions`;
/** The grader's `--json` output. */
const GRADES = `${WORK_DIR}/grades.json`;

/** Targets from the brief, in their own units. */
const LIST_TARGET_MS = 150;
const CHECK_TARGET_S = 5;
const GRADE_TARGET_PER_MIN = 60;
/** Submissions graded in a full run (a class, not a handful). */
const STUDENTS = 40;

interface Run {
  ms: number;
  code: number;
  output: string;
}

/** Runs `deno ARGS` in `cwd`, killed after `timeoutMs`; the wall time is spawn to exit. */
async function runDeno(
  args: string[],
  cwd: string,
  timeoutMs: number,
  keepOutput = true,
): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  // Read both pipes to the end so a chatty child never blocks on a full pipe.
  const [out, status] = await Promise.all([child.output(), child.status]);
  const ms = performance.now() - t0;
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const output = keepOutput ? decoder.decode(out.stdout) + decoder.decode(out.stderr) : "";
  if (timedOut) {
    return { ms, code: -1, output: `${output}\n(killed after ${timeoutMs / 1000} s)` };
  }
  return { ms, code: status.code, output };
}

/** The last lines of a command's output, for an error message. */
function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function git(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")} failed:\n${tail(new TextDecoder().decode(out.stderr))}`);
  }
}

/**
 * A fresh copy of a project tree (lib/, cli/, labs/, solutions/, deno.json)
 * at `dest`, in a git repository of its own, stubs committed as in a
 * student's checkout: the runner keeps state there and restores stubs from it.
 *
 * @example
 * ```ts ignore
 * await copyProject("/work/main", "/var/tmp/copy");
 * ```
 */
export async function copyProject(tree: string, dest: string): Promise<void> {
  rmSync(dest, { recursive: true, force: true });
  Deno.mkdirSync(dest, { recursive: true });
  for (const dir of ["lib", "cli", "labs", "solutions"]) {
    cpSync(`${tree}/${dir}`, `${dest}/${dir}`, { recursive: true });
  }
  cpSync(`${tree}/deno.json`, `${dest}/deno.json`);
  Deno.writeTextFileSync(`${dest}/.gitignore`, ".mmap-lab/\n");
  await git(["init", "-q"], dest);
  await git(["add", "-A"], dest);
  await git(["commit", "-q", "-m", "bench copy"], dest);
}

/** 40 (or `count`) students, each with the reference solutions side by side. */
function makeSubmissions(labs: LabInfo[], count: number): void {
  rmSync(SUBMISSIONS, { recursive: true, force: true });
  for (let i = 1; i <= count; i++) {
    const dir = `${SUBMISSIONS}/student-${String(i).padStart(2, "0")}`;
    Deno.mkdirSync(dir, { recursive: true });
    for (const lab of labs) cpSync(`${ROOT}solutions/${lab.id}/${lab.file}`, `${dir}/${lab.file}`);
  }
}

/**
 * A target on an absolute figure, shown as the figure over its target (the
 * harness's Targets table is made of ratios): ≤ 1× (or ≥ 1×) meets it.
 */
function budget(
  id: string,
  label: string,
  num: string,
  samples: number[],
  op: "<=" | ">=",
): Ratio {
  const { median, min, max } = summarize(samples);
  return {
    id,
    label,
    num,
    den: "target",
    samples,
    median,
    min,
    max,
    target: { op, value: 1 },
    met: op === "<=" ? median <= 1 : median >= 1,
  };
}

/** Section 4. */
export async function toolsSection(opts: BenchOptions): Promise<Section> {
  const { labs } = loadCatalog();
  const notes: string[] = [];
  const ratios: Ratio[] = [];
  const failures: string[] = [];

  // --- the runner, in a throw-away copy of the project -------------------
  progress("section 4: copying the project to .mmap-lab/bench/tools-project");
  await copyProject(ROOT.replace(/\/$/, ""), PROJECT);
  const listArgs = ["run", "-q", "--no-prompt", "-P=lab", "cli/lab.ts", "list"];
  const listRun = async () => {
    const r = await runDeno(listArgs, PROJECT, 30_000);
    if (r.code !== 0) {
      throw new Error(`deno task lab list exited with code ${r.code}:\n${tail(r.output)}`);
    }
    return r.ms;
  };
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  progress(`section 4: lab list × ${rounds} rounds`);
  const results = await measure([{
    id: "tools.list",
    group: "runner",
    name: "lab list (spawn to exit)",
    unit: "ms",
    ops: 1,
    warmup: opts.quick ? undefined : listRun,
    run: listRun,
  }], rounds);
  const list = results[0];
  ratios.push(budget(
    "tools.list/target",
    `lab list first screen / ${LIST_TARGET_MS} ms`,
    list.id,
    list.samples.map((ms) => ms / LIST_TARGET_MS),
    "<=",
  ));

  if (opts.quick) {
    notes.push("--quick: lab check --all not run");
  } else {
    // Every reference solution over its stub, then every check of every lab.
    for (const lab of labs) {
      cpSync(
        `${PROJECT}/solutions/${lab.id}/${lab.file}`,
        `${PROJECT}/labs/${lab.id}/${lab.file}`,
      );
    }
    progress(`section 4: lab check --all on ${labs.length} reference solutions (one round)`);
    const r = await runDeno(
      ["run", "-q", "--no-prompt", "-P=lab", "cli/lab.ts", "check", "--all"],
      PROJECT,
      300_000,
    );
    if (r.code !== 0) {
      // Keep the figure: the time is still the time; say which labs failed.
      failures.push(
        `lab check --all on the reference solutions exited with code ${r.code}` +
          `${failedLabs(r.output)}\n${tail(r.output)}`,
      );
    }
    results.push({
      id: "tools.checkAll",
      group: "runner",
      name: `lab check --all (${labs.length} labs, solutions)`,
      unit: "ms",
      ops: 1,
      samples: [r.ms],
      median: r.ms,
      min: r.ms,
      max: r.ms,
      also: `${(r.ms / 1000).toFixed(1)} s`,
    });
    ratios.push(budget(
      "tools.checkAll/target",
      `check --all / ${CHECK_TARGET_S} s`,
      "tools.checkAll",
      [r.ms / 1000 / CHECK_TARGET_S],
      "<=",
    ));
  }

  // --- the grader, from this checkout --------------------------------------
  const students = opts.quick ? 2 : STUDENTS;
  makeSubmissions(labs, students);
  rmSync(GRADES, { force: true });
  const gradeArgs = [
    "run",
    "-q",
    "-P=grade",
    "cli/grade.ts",
    ".mmap-lab/bench/submissions",
    "--quiet",
    "--json",
    ".mmap-lab/bench/grades.json",
    ...(opts.quick ? ["--lab", "0"] : []),
  ];
  const labsGraded = opts.quick ? 1 : labs.length;
  progress(`section 4: grading ${students} submissions × ${labsGraded} lab(s) (one round)`);
  const cpu0 = childrenCpuMs();
  const g = await runDeno(gradeArgs, ROOT, 3_600_000);
  const cpuMs = childrenCpuMs() - cpu0;
  if (g.code !== 0) {
    throw new Error(`deno task grade exited with code ${g.code}:\n${tail(g.output)}`);
  }
  const wrongGrades = verifyGrades(students, labsGraded);
  if (wrongGrades.length > 0) {
    failures.push(
      `grading the reference solutions did not give full marks:\n${
        wrongGrades.slice(0, 20).join("\n")
      }`,
    );
  }
  const perMinute = students / (g.ms / 60_000);
  results.push({
    id: "tools.grade",
    group: "grader",
    name: `grade ${students} submissions × ${labsGraded} lab${labsGraded === 1 ? "" : "s"}`,
    unit: "ms",
    ops: students,
    samples: [g.ms],
    median: g.ms,
    min: g.ms,
    max: g.ms,
    also: `${perMinute.toFixed(1)} submissions/min, ${(g.ms / students / 1000).toFixed(2)} s each`,
  });
  const cores = navigator.hardwareConcurrency;
  results.push({
    id: "tools.gradeCpu",
    group: "grader",
    name: "CPU time per submission (grader and children)",
    unit: "ms",
    ops: 1,
    samples: [cpuMs / students],
    median: cpuMs / students,
    min: cpuMs / students,
    max: cpuMs / students,
    also: `${(cpuMs / g.ms).toFixed(2)} of ${cores} cores busy on average`,
  });
  notes.push(
    `grading took ${(cpuMs / 1000).toFixed(0)} s of CPU in ${(g.ms / 1000).toFixed(0)} s: ` +
      `${(cpuMs / students / 1000).toFixed(1)} s a submission, ${
        (cpuMs / g.ms).toFixed(2)
      } of ${cores} cores busy; ${GRADE_TARGET_PER_MIN} submissions a minute on ${cores} cores ` +
      `leaves ${(cores * 60 / GRADE_TARGET_PER_MIN).toFixed(1)} s of CPU a submission`,
  );
  ratios.push(budget(
    "tools.grade/target",
    `${labsGraded}-lab submissions per minute / ${GRADE_TARGET_PER_MIN}`,
    "tools.grade",
    [perMinute / GRADE_TARGET_PER_MIN],
    ">=",
  ));
  if (opts.quick) notes.push("--quick: 2 submissions graded on lab 0 only");
  if (wrongGrades.length === 0) {
    notes.push(
      `every student got full marks (${students} × ${labsGraded} lab${
        labsGraded === 1 ? "" : "s"
      }, ${navigator.hardwareConcurrency} cores, grader's default --jobs)`,
    );
  }
  notes.push(
    "targets: lab list ≤ 150 ms, check --all ≤ 5 s, grading ≥ 60 submissions/min; " +
      "each ratio above is the figure over its target (≤ 1× or ≥ 1× meets it)",
  );

  return {
    id: "4",
    title: TITLE,
    description: [
      "wall time from spawn to exit, ms (includes Deno's own start-up); the runner in a",
      "throw-away copy of the project, the grader on copies of the reference solutions",
    ],
    results,
    ratios,
    notes,
    ...(failures.length ? { failures } : {}),
  };
}

/**
 * The labs `lab check --all` reports as not passing, from its output.
 *
 * @example
 * ```ts
 * failedLabs("Lab 04 · Anonymous memory  9 of 13 checks passed, 9/13 points"); // "; labs not passing: 04"
 * ```
 */
export function failedLabs(output: string): string {
  // One line per lab: "Lab 04 · Anonymous memory  9 of 13 checks passed, 9/13 points".
  // deno-lint-ignore no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const labs = [...plain.matchAll(/^Lab (\d+) · .*?(\d+) of (\d+) checks passed/gm)]
    .filter((m) => m[2] !== m[3])
    .map((m) => m[1]);
  return labs.length ? `; labs not passing: ${labs.join(", ")}` : "";
}

/** What is wrong with the grades: every student graded on every lab asked for, full marks, no problem. */
function verifyGrades(students: number, labsGraded: number): string[] {
  const report = JSON.parse(Deno.readTextFileSync(GRADES)) as {
    format: string;
    problems: string[];
    students: {
      name: string;
      score: number;
      maxScore: number;
      labs: { id: string; status: string; score: number; maxScore: number; error?: string }[];
    }[];
  };
  const wrong: string[] = [];
  if (report.format !== "mmap-lab-grades") wrong.push(`unexpected format ${report.format}`);
  for (const p of report.problems ?? []) wrong.push(`grading problem: ${p}`);
  if (report.students.length !== students) {
    wrong.push(`${report.students.length} students graded, expected ${students}`);
  }
  for (const s of report.students) {
    if (s.labs.length !== labsGraded) {
      wrong.push(`${s.name}: ${s.labs.length} labs graded, expected ${labsGraded}`);
    }
    for (const lab of s.labs) {
      if (lab.status !== "graded" || lab.maxScore <= 0 || lab.score !== lab.maxScore) {
        wrong.push(
          `${s.name} ${lab.id}: ${lab.status} ${lab.score}/${lab.maxScore}` +
            (lab.error ? ` (${lab.error})` : ""),
        );
      }
    }
  }
  return wrong;
}
