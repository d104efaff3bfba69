/** The grader's output formats on a small made-up report: table, summary, CSV, Gradescope, Autolab. */

import assert from "node:assert/strict";
import {
  autolabLine,
  checkText,
  formatCsv,
  formatStudentReport,
  formatSummary,
  formatTable,
  gradescopeResults,
  sanitize,
} from "../../lib/grader/formats.ts";
import { mergeReports } from "../../lib/grader/batch.ts";
import { stats, summarize } from "../../lib/grader/summary.ts";
import type { CheckGrade, GradeReport, LabGrade, StudentGrade } from "../../lib/grader/types.ts";

function check(id: string, points: number, passed: boolean, extra: Partial<CheckGrade> = {}) {
  return {
    id,
    title: `check ${id}`,
    score: passed ? points : 0,
    maxScore: points,
    status: passed ? "passed" : "failed",
    message: passed ? "" : `${id} failed`,
    hidden: false,
    ...extra,
  } as CheckGrade;
}

function lab(id: string, checks: CheckGrade[], status: LabGrade["status"] = "graded"): LabGrade {
  return {
    id,
    status,
    score: checks.reduce((s, c) => s + c.score, 0),
    maxScore: checks.reduce((s, c) => s + c.maxScore, 0),
    checks,
    durationMs: 10,
  };
}

function student(name: string, labs: LabGrade[]): StudentGrade {
  return {
    name,
    submission: `/subs/${name}`,
    labs,
    score: labs.reduce((s, l) => s + l.score, 0),
    maxScore: labs.reduce((s, l) => s + l.maxScore, 0),
    notes: [],
  };
}

const labsMeta = [
  {
    id: "00_hello",
    title: "Hello",
    file: "hello.ts",
    maxScore: 3,
    checks: [
      { id: "a", title: "check a", points: 1, hidden: false },
      { id: "b", title: "check b", points: 2, hidden: true },
    ],
  },
  {
    id: "01_next",
    title: "Next",
    file: "next.ts",
    maxScore: 4,
    checks: [{ id: "c", title: "check c", points: 4, hidden: false }],
  },
];

function report(): GradeReport {
  return {
    format: "mmap-lab-grades",
    version: 1,
    gradedAt: "2026-01-01T00:00:00.000Z",
    labs: labsMeta,
    students: [
      student("ada", [
        lab("00_hello", [check("a", 1, true), check("b", 2, true, { hidden: true })]),
        lab("01_next", [check("c", 4, true)]),
      ]),
      student("=cmd|' /C calc'!A0", [
        lab("00_hello", [check("a", 1, true), check("b", 2, false, { hidden: true })]),
        lab("01_next", [check("c", 4, false, { message: "not submitted" })], "missing"),
      ]),
      student("bob, jr", [
        lab("00_hello", [
          check("a", 1, false, { message: "boom\u001b[2J\u0007", internalError: true }),
          check("b", 2, false, { hidden: true }),
        ], "error"),
        lab("01_next", [check("c", 4, false)]),
      ]),
    ],
    problems: ["bob, jr 00_hello a: the checker itself failed"],
    durationMs: 1234,
  };
}

Deno.test("summary: mean, median and the pass rate of each check, hardest first", () => {
  assert.deepEqual(stats([]), { count: 0, mean: 0, median: 0, min: 0, max: 0 });
  assert.equal(stats([3, 1, 2]).median, 2);
  assert.equal(stats([4, 1, 3, 2]).median, 2.5);
  const s = summarize(report());
  assert.equal(s.students, 3);
  assert.equal(s.maxScore, 7);
  assert.deepEqual(s.points, { count: 3, mean: (7 + 1 + 0) / 3, median: 1, min: 0, max: 7 });
  // Among the students who attempted each lab: not bob's 00 (a grading problem), nor =cmd's 01
  // (not submitted).
  assert.deepEqual(s.checks.map((c) => [c.id, c.passed, c.total]), [
    ["b", 1, 2],
    ["c", 1, 2],
    ["a", 2, 2],
  ]);
  assert.equal(s.labs[1].submitted, 2);
  assert.equal(s.labs[0].full, 1);
});

Deno.test("table: a column per lab, - for not submitted, ERR for a grading problem, no colour", () => {
  const table = formatTable(report(), { color: false });
  assert.ok(!table.includes("\x1b"));
  const lines = table.split("\n");
  assert.match(lines[0], /^student\s+00\s+01\s+total$/);
  assert.match(lines[1], /^\s+\/3\s+\/4\s+\/7$/);
  assert.match(lines[2], /^ada\s+3\s+4\s+7$/);
  assert.match(lines[3], /^=cmd.*\s+1\s+-\s+1$/);
  assert.match(lines[4], /^bob, jr\s+ERR\s+0\s+0$/);
  assert.ok(formatTable(report(), { color: true }).includes("\x1b[32m"));
  const summary = formatSummary(report());
  assert.match(summary, /3 students: mean 2\.7 \/ 7, median 1/);
  assert.match(summary, /50%\s+00 b \(hidden\)/);
  assert.match(summary, /Grading problems \(1\)/);
});

Deno.test("csv: quoted, formula-safe, one row per student", () => {
  const csv = formatCsv(report());
  assert.equal(
    csv,
    [
      "student,00_hello,01_next,total,max,status,notes",
      "ada,3,4,7,7,graded,",
      `'=cmd|' /C calc'!A0,1,0,1,7,graded,`,
      `"bob, jr",0,0,0,7,graded,`,
      "",
    ].join("\n"),
  );
});

Deno.test("gradescope: the documented schema; hidden checks after publishing; no control characters", () => {
  const r = report();
  const results = gradescopeResults(r.students[2], { executionTime: 12.4 });
  assert.equal(results.score, 0);
  assert.equal(results.execution_time, 12);
  assert.equal(typeof results.output, "string");
  assert.equal(results.tests.length, 3);
  for (const t of results.tests) {
    assert.deepEqual(Object.keys(t).sort(), [
      "max_score",
      "name",
      "number",
      "output",
      "score",
      "status",
      "visibility",
    ]);
    assert.ok(t.status === "passed" || t.status === "failed");
    assert.equal(typeof t.score, "number");
    assert.equal(sanitize(t.output), t.output);
  }
  assert.deepEqual(results.tests.map((t) => [t.number, t.visibility]), [
    ["0.1", "visible"],
    ["0.2", "after_published"],
    ["1.1", "visible"],
  ]);
  assert.equal(
    gradescopeResults(r.students[0], { executionTime: 1, hiddenVisibility: "hidden" }).tests[1]
      .visibility,
    "hidden",
  );
  assert.equal(gradescopeResults(r.students[0], { executionTime: 1 }).score, 7);
  const empty = gradescopeResults(undefined, { executionTime: 0, message: "it broke" });
  assert.equal(empty.score, 0);
  assert.deepEqual(empty.tests, []);
  assert.equal(empty.output, "it broke");
});

Deno.test("autolab: scores by lab id and a scoreboard, on one line", () => {
  const r = report();
  const line = autolabLine(r.students[1], ["00_hello", "01_next"]);
  assert.doesNotMatch(line, /\n/);
  assert.deepEqual(JSON.parse(line), {
    scores: { "00_hello": 1, "01_next": 0 },
    scoreboard: [1, 1, 0],
  });
  // Hidden checks stay out of the scores (Autolab shows them to the student once released).
  assert.deepEqual(JSON.parse(autolabLine(r.students[0], ["00_hello", "01_next"])), {
    scores: { "00_hello": 1, "01_next": 4 },
    scoreboard: [5, 1, 4],
  });
  assert.deepEqual(
    JSON.parse(autolabLine(r.students[0], ["00_hello", "01_next"], { countHidden: true })),
    { scores: { "00_hello": 3, "01_next": 4 }, scoreboard: [7, 3, 4] },
  );
  assert.deepEqual(JSON.parse(autolabLine(undefined, ["00_hello"])), {
    scores: { "00_hello": 0 },
    scoreboard: [0, 0],
  });
  const text = formatStudentReport(r, r.students[0]);
  assert.match(text, /\(hidden check\) 2\/2/);
  assert.doesNotMatch(text, /check b/);
});

Deno.test("merge: a re-grade replaces only what it graded", () => {
  const base = report();
  const regrade: GradeReport = {
    ...report(),
    labs: [labsMeta[1]],
    students: [student("bob, jr", [lab("01_next", [check("c", 4, true)])])],
    problems: [],
  };
  const merged = mergeReports(base, regrade);
  assert.equal(merged.students.length, 3);
  const bob = merged.students.find((s) => s.name === "bob, jr")!;
  assert.deepEqual(bob.labs.map((l) => [l.id, l.score]), [["00_hello", 0], ["01_next", 4]]);
  assert.equal(bob.score, 4);
  assert.equal(merged.students.find((s) => s.name === "ada")!.score, 7);
  assert.deepEqual(merged.labs.map((l) => l.id), ["00_hello", "01_next"]);
});

Deno.test("sanitize: escape sequences and bells go, newlines and tabs stay", () => {
  assert.equal(sanitize("a\u001b[31mb\u0007\r\nc\td\u009b"), "a[31mb\nc\td");
});

Deno.test("a check's text shows what the student's code printed, labelled, as never graded", () => {
  const check: CheckGrade = {
    id: "runs",
    title: "runs",
    score: 0,
    maxScore: 1,
    status: "failed",
    message: "writeMessage threw",
    hidden: false,
    output: { stdout: "step 1\nstep 2\n", stderr: "\x1b[31moops\x1b[0m\n", truncated: false },
  };
  const text = checkText(check);
  assert.match(text, /your code printed \(stdout\):\n {2}\| step 1\n {2}\| step 2/);
  assert.match(text, /your code printed \(stderr\):\n {2}\| oops\n/);
  assert.ok(!text.includes("\x1b"), "no escape codes reach the report");
  assert.match(text, /never graded/);
});
