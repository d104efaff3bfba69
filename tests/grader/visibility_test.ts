/**
 * Hidden means hidden: what a student reads (Gradescope's always-visible
 * output and visible tests, PrairieLearn's results, Autolab's feedback) never
 * names a hidden check, shows its hint, or totals in a way that gives it away;
 * hints follow the instructor's policy (all, first, none).
 */

import assert from "node:assert/strict";
import {
  autolabLine,
  formatStudentReport,
  gradescopeResults,
  hintedChecks,
} from "../../lib/grader/formats.ts";
import { prairielearnResults } from "../../lib/grader/prairielearn.ts";
import type { CheckGrade, GradeReport, LabGrade, StudentGrade } from "../../lib/grader/types.ts";
import { PROJECT_ROOT } from "./fixtures.ts";
import { task } from "./course.ts";

const SECRET = "zz-secret-check";

function check(id: string, points: number, passed: boolean, hidden = false): CheckGrade {
  return {
    id,
    title: `title of ${id}`,
    score: passed ? points : 0,
    maxScore: points,
    status: passed ? "passed" : "failed",
    message: passed ? "" : `${id} failed`,
    hint: `HINT-${id}`,
    hidden,
  };
}

function lab(id: string, checks: CheckGrade[]): LabGrade {
  return {
    id,
    status: "graded",
    score: checks.reduce((s, c) => s + c.score, 0),
    maxScore: checks.reduce((s, c) => s + c.maxScore, 0),
    checks,
    durationMs: 1,
  };
}

/** 00: visible a (2, passed), b (2, failed), c (2, failed), hidden secret (2); 01: visible d (3, failed). */
function student(secretPassed: boolean): StudentGrade {
  const labs = [
    lab("00_x", [
      check("a", 2, true),
      check("b", 2, false),
      check("c", 2, false),
      check(SECRET, 2, secretPassed, true),
    ]),
    lab("01_y", [check("d", 3, false)]),
  ];
  return {
    name: "s",
    submission: "/s",
    labs,
    score: labs.reduce((t, l) => t + l.score, 0),
    maxScore: labs.reduce((t, l) => t + l.maxScore, 0),
    notes: [],
  };
}

function report(s: StudentGrade): GradeReport {
  return {
    format: "mmap-lab-grades",
    version: 1,
    gradedAt: "",
    labs: s.labs.map((l) => ({
      id: l.id,
      title: l.id,
      file: "f.ts",
      maxScore: l.maxScore,
      checks: l.checks.map((c) => ({
        id: c.id,
        title: c.title,
        points: c.maxScore,
        hidden: c.hidden,
      })),
    })),
    students: [s],
    problems: [],
    durationMs: 0,
  };
}

Deno.test("gradescope: the visible output totals the visible checks; the hidden check only in its own test", () => {
  for (const passed of [true, false]) {
    const results = gradescopeResults(student(passed), { executionTime: 1 });
    assert.match(results.output, /^00_x: 2 \/ 6$/m, "visible checks only: 2 of 6");
    assert.match(results.output, /^01_y: 0 \/ 3$/m);
    const visible = JSON.stringify({
      output: results.output,
      tests: results.tests.filter((t) => t.visibility === "visible"),
    });
    assert.ok(!visible.includes(SECRET), "no visible text names the hidden check");
    const hidden = results.tests.filter((t) => t.visibility !== "visible");
    assert.equal(hidden.length, 1);
    assert.doesNotMatch(hidden[0].output, /HINT/, "a hidden check's hint is never shown");
    assert.equal(results.score, passed ? 4 : 2); // the total: Gradescope hides it while a test is hidden
  }
  // Hidden checks made visible: the output totals everything.
  const open = gradescopeResults(student(true), { executionTime: 1, hiddenVisibility: "visible" });
  assert.match(open.output, /^00_x: 4 \/ 8$/m);
});

Deno.test("hints: all, first or none of the failed visible checks' hints", () => {
  const s = student(false);
  const texts = (hints: "all" | "first" | "none") =>
    gradescopeResults(s, { executionTime: 1, hints }).tests.map((t) =>
      /hint: (\S+)/.exec(t.output)?.[1]
    ).filter(Boolean);
  assert.deepEqual(texts("all"), ["HINT-b", "HINT-c", "HINT-d"]);
  assert.deepEqual(texts("first"), ["HINT-b", "HINT-d"]);
  assert.deepEqual(texts("none"), []);
  assert.deepEqual([...hintedChecks(s.labs[0], "all")], ["b", "c"]);
  const pl = prairielearnResults(s, { gradable: true, hints: "first" });
  assert.deepEqual(pl.tests.filter((t) => t.output.includes("hint:")).map((t) => t.name), [
    "00_x b: title of b",
    "01_y d: title of d",
  ]);
});

Deno.test("prairielearn and autolab: no hidden check, and no total that counts one", () => {
  const s = student(true);
  const pl = prairielearnResults(s, { gradable: true });
  assert.ok(!JSON.stringify(pl).includes(SECRET));
  assert.ok(!JSON.stringify(pl).includes("hidden"), JSON.stringify(pl));
  // The score, each test's and the message's totals all count the visible checks only.
  const visible = pl.tests.reduce((sum, t) => sum + t.points, 0);
  const visibleMax = pl.tests.reduce((sum, t) => sum + t.max_points, 0);
  assert.equal(visibleMax, 9);
  assert.equal(pl.score, visible / visibleMax);
  assert.match(pl.message, /^00_x: 2 \/ 6$/m);
  // Made visible, it is a test like the others and counts.
  const open = prairielearnResults(s, { gradable: true, hiddenVisibility: "visible" });
  assert.equal(open.tests.reduce((sum, t) => sum + t.max_points, 0), 11);
  assert.equal(open.score, 4 / 11);
  const line = JSON.parse(autolabLine(s, ["00_x", "01_y"]));
  assert.equal(line.scores["00_x"], 2);
  assert.equal(line.scoreboard[0], visible);
  const feedback = formatStudentReport(report(s), s, { visibleOnly: true });
  assert.ok(!feedback.includes(SECRET) && !feedback.includes("hidden check"), feedback);
  assert.match(feedback, /^s: 2 \/ 9$/m);
  assert.match(feedback, /^00_x: 00_x: 2 \/ 6$/m);
  // The instructor's log still shows it.
  assert.match(formatStudentReport(report(s), s), /\(hidden check\) 2\/2/);
});

Deno.test("grade --hints: a policy that is not all, first or none is a usage error", async () => {
  const r = await task(PROJECT_ROOT, "grade", "--autolab", ".", "--hints", "some");
  assert.equal(r.code, 2, r.out);
  assert.match(r.stderr, /--hints must be one of all, first, none/);
});
