/**
 * The same code gets the same score: racy mistakes, graded several times,
 * fail exactly the same checks every time. A check that catches a race by
 * luck would make partial credit change on a re-grade (a grade appeal
 * waiting to happen); the racy labs catch races by construction instead
 * (freezing a process at the worst instant, staging the lost wake-up).
 *
 * `deno task mutants --repeat N` measures catch rates over many runs; this
 * test keeps the rule in CI for one racy mistake of each kind.
 */

import assert from "node:assert/strict";
import { findLab, loadCatalog, solutionFile } from "../lib/catalog.ts";
import { runLab } from "../lib/checker/run.ts";
import { labMistakes } from "./mistakes.ts";
import { gradeSubmissions, listSubmissions } from "../lib/grader/batch.ts";
import { summarize } from "../lib/grader/summary.ts";
import { freshDir, removeDir } from "./grader/fixtures.ts";

const catalog = loadCatalog();
const RUNS = 3;

/** Racy mistakes: a lock taken with check-then-set, and a lost wake-up. */
const RACY = [
  { lab: "07_shared_counter", mistake: "check_then_set.mistake" },
  { lab: "08_ring_buffer", mistake: "wake_flag_read_early.mistake" },
];

for (const { lab: labId, mistake } of RACY) {
  Deno.test(`${labId}: ${mistake} scores the same in ${RUNS} gradings`, async () => {
    const lab = findLab(catalog, labId)!;
    const wrong = labMistakes(catalog.root, labId, solutionFile(catalog.root, lab))
      .find((m) => m.file === mistake);
    assert.ok(wrong, `no ${mistake} in tests/wrong/${labId}`);
    const path = wrong.materialize();
    const outcomes: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const result = await runLab(catalog, lab, { studentFile: path, includeHidden: true });
      assert.ok(result.score < result.maxScore, `${mistake} scored full marks`);
      outcomes.push(
        `${result.score}/${result.maxScore}: ` +
          result.checks.map((c) => `${c.id} ${c.status}`).join(", "),
      );
    }
    for (const o of outcomes.slice(1)) assert.equal(o, outcomes[0], outcomes.join("\n"));
  });
}

Deno.test("a class of untouched, partial, racy and perfect submissions grades the same twice", async () => {
  const labs = ["00_hello_mapping", "07_shared_counter"].map((id) => findLab(catalog, id)!);
  const dir = freshDir("same-twice");
  try {
    const put = (student: string, lab: (typeof labs)[number], text: string) => {
      Deno.mkdirSync(`${dir}/class/${student}/${lab.id}`, { recursive: true });
      Deno.writeTextFileSync(`${dir}/class/${student}/${lab.id}/${lab.file}`, text);
    };
    const solution = (lab: (typeof labs)[number]) =>
      Deno.readTextFileSync(solutionFile(catalog.root, lab));
    const mistake = (lab: (typeof labs)[number], file: string) =>
      Deno.readTextFileSync(
        labMistakes(catalog.root, lab.id, solutionFile(catalog.root, lab))
          .find((m) => m.file === file)!.materialize(),
      );
    for (const lab of labs) {
      put("perfect", lab, solution(lab));
      put("untouched", lab, Deno.readTextFileSync(`${catalog.root}/labs/${lab.id}/${lab.file}`));
    }
    put("partial", labs[0], mistake(labs[0], "no_unmap.mistake"));
    put("racy", labs[0], solution(labs[0]));
    put("racy", labs[1], mistake(labs[1], "check_then_set.mistake"));

    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) {
      const report = await gradeSubmissions({
        submissions: listSubmissions(`${dir}/class`),
        labs: labs.map((l) => l.id),
        jobs: 2,
        gradingRoot: `${dir}/grading`,
      });
      assert.deepEqual(report.problems, []);
      outcomes.push(
        report.students.map((s) =>
          `${s.name} ${s.score}: ` +
          s.labs.map((l) =>
            `${l.id} ${l.score}${l.unchanged ? " not attempted" : ""} [` +
            l.checks.map((c) => `${c.id} ${c.status}`).join(", ") + "]"
          ).join("; ")
        ).join("\n"),
      );
      const summary = summarize(report);
      const lab07 = summary.labs.find((l) => l.id === labs[1].id)!;
      // Untouched is not attempted; racy attempted and failed; perfect has full marks.
      assert.equal(lab07.notAttempted, 1);
      assert.equal(lab07.attemptedFailed, 1);
      assert.equal(lab07.full, 1);
      const byName = Object.fromEntries(report.students.map((s) => [s.name, s]));
      assert.equal(byName.untouched.score, 0);
      assert.equal(byName.perfect.score, byName.perfect.maxScore);
      assert.ok(byName.racy.score < byName.racy.maxScore);
    }
    assert.equal(outcomes[1], outcomes[0]);
  } finally {
    removeDir(dir);
  }
});
