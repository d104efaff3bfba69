/**
 * `deno task grade` end to end, as a child process with the "grade"
 * permission set: the class table, CSV and JSON, re-grading one student,
 * Gradescope's results.json in a simulated /autograder layout, Autolab's last
 * line, usage errors.
 */

import assert from "node:assert/strict";
import {
  buildClass,
  copyTree,
  FIXTURES,
  freshDir,
  PROJECT_ROOT,
  removeDir,
  writePerfect,
} from "./fixtures.ts";
import type { GradeReport } from "../../lib/grader/types.ts";
import type { GradescopeResults } from "../../lib/grader/formats.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

async function grade(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-P=grade", "cli/grade.ts", ...args],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    seconds: (performance.now() - start) / 1000,
  };
}

function show(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

Deno.test("grade: a class table, CSV and JSON; re-grading one student updates only them", async () => {
  const dir = freshDir("cli-class");
  try {
    const subs = `${dir}/submissions`;
    buildClass(subs, [
      "perfect",
      "untouched",
      "partial",
      "fake-output",
      "symlinked",
      "edits-checker",
    ]);
    const csv = `${dir}/out/class.csv`;
    const json = `${dir}/out/class.json`;
    const run = await grade([subs, "--lab", "0", "--csv", csv, "--json", json, "--jobs", "2"]);
    assert.equal(run.code, 0, show(run));
    const rows = Object.fromEntries(
      run.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((r) => r.length === 3)
        .map((r) => [r[0], r.slice(1)]),
    );
    assert.deepEqual(rows["student"], ["00", "total"]);
    assert.deepEqual(rows["perfect"], ["5", "5"]);
    assert.deepEqual(rows["untouched"], ["0", "0"]);
    assert.deepEqual(rows["partial"], ["3", "3"]);
    assert.deepEqual(rows["edits-checker"], ["3", "3"]);
    assert.deepEqual(rows["fake-output"], ["0", "0"]);
    assert.deepEqual(rows["symlinked"], ["-", "0"]);
    assert.match(run.stdout, /6 students: mean 1.8 \/ 5, median 1.5/);
    assert.match(run.stdout, /Checks, hardest first:/);
    assert.ok(!run.stdout.includes("\x1b"), "no escape codes in a pipe");
    assert.match(run.stderr, /^\[6\/6\] /m, "plain progress lines in a pipe");
    assert.equal(
      Deno.readTextFileSync(csv),
      [
        "student,00_hello_mapping,total,max,status,notes",
        "edits-checker,3,3,5,graded,",
        "fake-output,0,0,5,graded,",
        "partial,3,3,5,graded,",
        "perfect,5,5,5,graded,",
        "symlinked,0,0,5,graded,hello.ts is a symbolic link: only regular files are graded",
        "untouched,0,0,5,graded,",
        "",
      ].join("\n"),
    );
    const report: GradeReport = JSON.parse(Deno.readTextFileSync(json));
    assert.equal(report.format, "mmap-lab-grades");
    assert.deepEqual(report.problems, []);

    // The student fixes their file; one command re-grades them and updates the JSON.
    Deno.copyFileSync(
      `${PROJECT_ROOT}/solutions/00_hello_mapping/hello.ts`,
      `${subs}/partial/00_hello_mapping/hello.ts`,
    );
    const again = await grade([
      subs,
      "--student",
      "partial",
      "--lab",
      "0",
      "--json",
      json,
      "--update",
    ]);
    assert.equal(again.code, 0, show(again));
    const updated: GradeReport = JSON.parse(Deno.readTextFileSync(json));
    const scores = Object.fromEntries(updated.students.map((s) => [s.name, s.score]));
    assert.deepEqual(scores, {
      "edits-checker": 3,
      "fake-output": 0,
      "partial": 5,
      "perfect": 5,
      "symlinked": 0,
      "untouched": 0,
    });
  } finally {
    removeDir(dir);
  }
});

Deno.test("grade --gradescope: results.json in a simulated /autograder, even when the child hangs", async () => {
  const dir = freshDir("cli-gradescope");
  try {
    const autograder = `${dir}/autograder`;
    writePerfect(`${autograder}/submission`);
    const resultsPath = `${autograder}/results/results.json`;
    const run = await grade(["--gradescope", "--lab", "0"], {
      MMAP_LAB_SUBMISSION: `${autograder}/submission`,
      MMAP_LAB_RESULTS: resultsPath,
    });
    assert.equal(run.code, 0, show(run));
    const results: GradescopeResults = JSON.parse(Deno.readTextFileSync(resultsPath));
    assert.equal(results.score, 5);
    assert.equal(typeof results.execution_time, "number");
    assert.equal(typeof results.output, "string");
    assert.deepEqual(results.tests.map((t) => [t.number, t.status, t.score, t.visibility]), [
      ["0.1", "passed", 1, "visible"],
      ["0.2", "passed", 2, "visible"],
      ["0.3", "passed", 2, "visible"],
    ]);
    for (const t of results.tests) {
      assert.equal(typeof t.name, "string");
      assert.equal(typeof t.max_score, "number");
      assert.equal(typeof t.output, "string");
    }

    // A submission that never returns, a budget of 1 s: the results are still written.
    copyTree(`${FIXTURES}/infinite-loop`, `${dir}/hangs`);
    const hung = await grade([
      "--gradescope",
      "--lab",
      "0",
      "--budget",
      "1",
      "--submission",
      `${dir}/hangs`,
      "--results",
      `${dir}/hangs-results/results.json`,
    ]);
    assert.equal(hung.code, 1, show(hung)); // grading did not finish: a grading problem
    assert.ok(hung.seconds < 10, `${hung.seconds} s`);
    const partial: GradescopeResults = JSON.parse(
      Deno.readTextFileSync(`${dir}/hangs-results/results.json`),
    );
    assert.equal(partial.score, 0);
    assert.equal(partial.tests.length, 3);
    assert.ok(partial.tests.every((t) => t.status === "failed"));
    assert.match(partial.tests[0].output, /time budget/);
  } finally {
    removeDir(dir);
  }
});

Deno.test("grade --autolab: the grader's scores line is the last line, whatever the student prints", async () => {
  const dir = freshDir("cli-autolab");
  try {
    copyTree(`${FIXTURES}/fake-output`, `${dir}/handin`);
    const run = await grade(["--autolab", `${dir}/handin`, "--lab", "0"]);
    assert.equal(run.code, 0, show(run));
    const lines = run.stdout.trimEnd().split("\n");
    assert.deepEqual(JSON.parse(lines.at(-1)!), {
      scores: { "00_hello_mapping": 0 },
      scoreboard: [0, 0],
    });
    // The student's fake line is quoted in the report, above ours.
    assert.ok(lines.slice(0, -1).some((l) => l.includes('"scores"')), run.stdout);
  } finally {
    removeDir(dir);
  }
});

Deno.test("grade: --help, and usage errors exit 2; an unwritable output exits 1 before grading", async () => {
  const help = await grade(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--gradescope/);
  assert.match(help.stdout, /Exit status/);
  assert.match(help.stdout, /--unsafe-as-root/);
  for (
    const args of [
      [],
      ["--lab", "99", "x"],
      ["--bogus"],
      ["--jobs", "0", "x"],
      ["/nonexistent"],
      ["--child-uid", "1.5", "x"],
      ["--child-uid", "61000", "--unsafe-as-root", "x"],
    ]
  ) {
    const run = await grade(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${show(run)}`);
  }
  const dir = freshDir("cli-perm");
  try {
    buildClass(`${dir}/submissions`, ["partial"]);
    const run = await grade([
      `${dir}/submissions`,
      "--lab",
      "0",
      "--csv",
      "/tmp/mmap-lab-grades.csv",
    ]);
    assert.equal(run.code, 1, show(run));
    // Its journal goes next to it: found out before grading, not after.
    assert.match(
      run.stderr,
      /no permission to write \/tmp\/mmap-lab-grades\.csv(\.journal)?: .*nothing was graded/,
    );
    assert.doesNotMatch(run.stderr, /\[1\/1\]/);
  } finally {
    removeDir(dir);
  }
});
