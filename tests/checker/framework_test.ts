/** The checker framework, on a fixture lab that exercises each of its parts. */

import assert from "node:assert/strict";
import { loadCatalog } from "../../lib/catalog.ts";
import { runLab } from "../../lib/checker/run.ts";

const root = decodeURIComponent(new URL("../fixtures/project", import.meta.url).pathname);
const catalog = loadCatalog(root);
const [lab] = catalog.labs;
const scratchRoot = decodeURIComponent(
  new URL("../../.mmap-lab/test-scratch", import.meta.url).pathname,
);

Deno.test("runLab: parents, checkpoints, shared runs, hidden checks, checker errors, time limits", async () => {
  const seen: string[] = [];
  const result = await runLab(catalog, lab, {
    scratchRoot: `${
      decodeURIComponent(new URL("../../.mmap-lab/test-scratch", import.meta.url).pathname)
    }`,
    onCheck: (c) => seen.push(c.id),
  });
  const byId = Object.fromEntries(result.checks.map((c) => [c.id, c]));

  assert.equal(byId.fails.status, "failed");
  assert.equal(byId.fails.message, "one is wrong");
  assert.deepEqual(byId.fails.details, { expected: "2", observed: "1", mistake: "arithmetic" });
  assert.equal(byId.fails.hint, "there is no way");

  assert.equal(byId["needs-fails"].status, "skipped");
  assert.equal(byId["needs-fails"].message, "needs: fails");

  assert.equal(byId.checkpoint.status, "passed", byId.checkpoint.message);
  assert.match(byId.checkpoint.notes[0], /^touched \d+ of \d+ pages; Rss \d+ kB$/);
  assert.ok(byId.checkpoint.calls.some((c) => c.call === "mmap"));

  assert.equal(byId["shared-b"].notes[0], "shared runs: 1");

  assert.equal(byId.unpredicted.status, "failed");
  assert.deepEqual(
    byId.unpredicted.notes,
    ["what the kernel did is shown once your prediction is in"],
    "what the kernel did stays hidden until the student predicts",
  );
  assert.equal(byId.observes.status, "passed");
  assert.deepEqual(
    byId.observes.notes,
    ["what the kernel did is shown once your prediction is in"],
    "the parent's notes would give the answer away too",
  );

  assert.equal(byId.hidden, undefined, "hidden checks must not run for students");

  assert.equal(byId.broken.status, "failed");
  assert.equal(byId.broken.internalError, true);
  assert.match(byId.broken.message, /the checker itself failed: bug in the checker/);

  assert.equal(byId.slow.status, "failed");
  assert.match(byId.slow.message, /took longer than 0.3 s/);

  assert.deepEqual(seen, result.checks.map((c) => c.id));
  assert.equal(result.score, 2 + 1 + 1 + 1);
  assert.equal(result.maxScore, 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1);
  assert.equal(result.passed, false);
});

Deno.test("runLab: hidden checks count when grading, and `only` runs a check with its parents", async () => {
  const graded = await runLab(catalog, lab, { includeHidden: true, only: ["hidden"], scratchRoot });
  assert.deepEqual(graded.checks.map((c) => [c.id, c.status]), [["hidden", "passed"]]);
  assert.equal(graded.score, 3);
  const child = await runLab(catalog, lab, { only: ["needs-fails"], scratchRoot });
  assert.deepEqual(child.checks.map((c) => [c.id, c.status]), [["fails", "failed"], [
    "needs-fails",
    "skipped",
  ]]);
});

Deno.test("runLab: a lab whose checker does not load is an error result, not a throw", async () => {
  const result = await runLab(catalog, { ...lab, id: "99_missing" }, { scratchRoot });
  assert.equal(result.checks.length, 0);
  assert.match(result.error ?? "", /could not load the checker of 99_missing/);
  assert.equal(result.passed, false);
});

Deno.test("runLab: labs.json's limits.timeScale and the run's timeScale multiply time limits", async () => {
  const scaled = { ...lab, limits: { timeScale: 2 } };
  const result = await runLab(catalog, scaled, { only: ["slow"], timeScale: 1.5, scratchRoot });
  const slow = result.checks.find((c) => c.id === "slow")!;
  assert.equal(slow.status, "failed");
  assert.match(slow.message, /took longer than 0.9 s/);
});

Deno.test("loadCatalog refuses limits that are not positive numbers, naming the lab", () => {
  Deno.mkdirSync(scratchRoot, { recursive: true });
  const dir = Deno.makeTempDirSync({ dir: scratchRoot, prefix: "catalog-" });
  try {
    Deno.mkdirSync(`${dir}/labs`);
    for (
      const [limits, message] of [
        [{ timeScale: 0 }, /01_fixture: limits.timeScale must be a positive number, not 0/],
        [{ memoryMiB: "512" }, /limits.memoryMiB must be a positive number, not "512"/],
        [{ seconds: 5 }, /unknown limit "seconds"/],
        [[1], /"limits" must be an object/],
      ] as const
    ) {
      const labs = [{ id: "01_fixture", title: "t", file: "s.ts", goal: "g", hints: [], limits }];
      Deno.writeTextFileSync(`${dir}/labs/labs.json`, JSON.stringify({ labs }));
      assert.throws(() => loadCatalog(dir), message);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
