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
