/**
 * A summary that tells what the class struggles with: an untouched stub is
 * "not attempted", apart from "attempted and failed"; the hardest checks are
 * ranked among those who attempted; `--by-check` names each failing check's
 * likely mistakes and the students behind them.
 */

import assert from "node:assert/strict";
import { buildClass, freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import { task } from "./course.ts";
import { sameAsStub } from "../../lib/grader/attempts.ts";
import { checkBreakdown, formatByCheck } from "../../lib/grader/bycheck.ts";
import { summarize } from "../../lib/grader/summary.ts";
import type { CheckGrade, GradeReport, LabGrade } from "../../lib/grader/types.ts";

Deno.test("sameAsStub: line endings and trailing white space aside, nothing else", () => {
  assert.ok(sameAsStub("a\r\nb  \n\n", "a\nb\n"));
  assert.ok(!sameAsStub("a\nb // done\n", "a\nb\n"));
});

function grade(checks: [string, boolean, string?][], unchanged = false): LabGrade {
  const list: CheckGrade[] = checks.map(([id, passed, mistake]) => ({
    id,
    title: `t-${id}`,
    score: passed ? 1 : 0,
    maxScore: 1,
    status: passed ? "passed" : "failed",
    message: passed ? "" : `${id} failed`,
    ...(mistake ? { details: { mistake } } : {}),
    hidden: false,
  }));
  return {
    id: "00_x",
    status: "graded",
    score: list.reduce((s, c) => s + c.score, 0),
    maxScore: list.length,
    checks: list,
    durationMs: 1,
    ...(unchanged ? { unchanged: true } : {}),
  };
}

Deno.test("summary and --by-check: stubs are not attempted; reasons counted with their students", () => {
  const student = (name: string, g: LabGrade) => ({
    name,
    submission: `/${name}`,
    labs: [g],
    score: g.score,
    maxScore: g.maxScore,
    notes: [],
  });
  const report: GradeReport = {
    format: "mmap-lab-grades",
    version: 1,
    gradedAt: "",
    labs: [{
      id: "00_x",
      title: "x",
      file: "x.ts",
      maxScore: 2,
      checks: [
        { id: "runs", title: "t-runs", points: 1, hidden: false },
        { id: "maps", title: "t-maps", points: 1, hidden: false },
      ],
    }],
    students: [
      student("stub1", grade([["runs", true], ["maps", false, "MAP_PRIVATE"]], true)),
      student("stub2", grade([["runs", true], ["maps", false, "MAP_PRIVATE"]], true)),
      student("ann", grade([["runs", true], ["maps", false, "MAP_PRIVATE"]])),
      student("bea", grade([["runs", true], ["maps", false, "write() beside"]])),
      student("cid", grade([["runs", true], ["maps", false, "MAP_PRIVATE"]])),
      student("dot", grade([["runs", true], ["maps", true]])),
    ],
    problems: [],
    durationMs: 0,
  };
  const s = summarize(report);
  assert.equal(s.labs[0].notAttempted, 2);
  assert.equal(s.labs[0].attemptedFailed, 3);
  assert.equal(s.labs[0].full, 1);
  // Among the 4 who attempted: maps passed by 1 (25 %), not 1 of 6.
  assert.deepEqual(s.checks.map((c) => [c.id, c.passed, c.total]), [["maps", 1, 4], [
    "runs",
    4,
    4,
  ]]);
  const [maps] = checkBreakdown(report);
  assert.deepEqual(maps.reasons, [
    { reason: "likely mistake: MAP_PRIVATE", students: ["ann", "cid"] },
    { reason: "likely mistake: write() beside", students: ["bea"] },
  ]);
  const text = formatByCheck(report);
  assert.match(text, /00 maps: t-maps — failed by 3 of 4/);
  assert.match(text, /2× likely mistake: MAP_PRIVATE: ann, cid/);
  assert.doesNotMatch(text, /stub1/);
});

Deno.test("grade --by-check: the untouched submission is not attempted, in the JSON and the summary", async () => {
  const dir = freshDir("attempts");
  try {
    buildClass(`${dir}/submissions`, ["perfect", "untouched", "partial"]);
    const json = `${dir}/class.json`;
    const run = await task(
      PROJECT_ROOT,
      "grade",
      `${dir}/submissions`,
      "--lab",
      "0",
      "--json",
      json,
      "--by-check",
      "--quiet",
    );
    assert.equal(run.code, 0, run.out);
    assert.match(
      run.stdout,
      /submitted 3\/3, not attempted 1, attempted and failed 1, full marks 1/,
    );
    assert.match(run.stdout, /Failing checks, by likely mistake/);
    assert.match(run.stdout, /× .*: partial$/m);
    assert.doesNotMatch(run.stdout.slice(run.stdout.indexOf("Failing checks")), /untouched/);
    const report: GradeReport = JSON.parse(Deno.readTextFileSync(json));
    const byName = Object.fromEntries(report.students.map((s) => [s.name, s.labs[0]]));
    assert.equal(byName.untouched.unchanged, true);
    assert.equal(byName.partial.unchanged, undefined);
    assert.equal(byName.perfect.unchanged, undefined);
  } finally {
    removeDir(dir);
  }
});
