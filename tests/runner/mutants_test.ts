import assert from "node:assert/strict";
import { findLab, loadCatalog } from "../../lib/catalog.ts";
import { formatTables, runMutants, summaryLine } from "../../cli/mutants.ts";

Deno.test("mutants: lab 00 twice, its solution too: every mistake caught 2/2, the solution passes 2/2", async () => {
  const catalog = loadCatalog();
  const lab = findLab(catalog, "00")!;
  const summary = await runMutants({ labs: [lab], repeat: 2, solutions: true, load: false });
  const mistakes = summary.reports.filter((r) => r.kind === "mistake");
  assert.ok(mistakes.length >= 3);
  for (const r of summary.reports) {
    assert.equal(r.runs, 2, r.name);
    assert.equal(r.good, 2, `${r.name}: ${JSON.stringify(r)}`);
    assert.equal(r.problem, undefined);
  }
  for (const r of mistakes) {
    assert.equal(r.patternMatched, 2);
    for (const id of r.expected) assert.equal(r.failedChecks[id], 2, `${r.name} ${id}`);
  }
  assert.equal(summary.caught, mistakes.length);
  assert.equal(summary.solutionsPassed, 1);
  assert.match(
    summaryLine(summary),
    new RegExp(
      `^${mistakes.length} of ${mistakes.length} mistakes caught 2/2; solutions passed 2/2, in [\\d.]+ s$`,
    ),
  );
  const table = formatTables(summary);
  assert.match(table, /^00_hello_mapping$/m);
  assert.match(table, /\(solution\)\s+2\/2 passed/);
});
