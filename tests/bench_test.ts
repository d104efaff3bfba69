/** The benchmarks still run (speed is measured by `deno task bench`, never asserted here). */

import assert from "node:assert/strict";
import { PROJECT_ROOT } from "../lib/catalog.ts";

Deno.test("deno task bench --quick runs every section and reports JSON", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-P=bench", "bench/main.ts", "--quick", "--json"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr.split("\n").slice(-20).join("\n"));
  const report = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    quick: boolean;
    sections: { id: string }[];
    failedSections: number;
  };
  assert.equal(report.quick, true);
  assert.deepEqual(report.sections.map((s) => s.id), ["1", "1b", "2", "3", "4", "5"]);
  assert.equal(report.failedSections, 0);
});

Deno.test("the bench names the labs that failed check --all, and keeps the figure", async () => {
  const { failedLabs } = await import("../bench/tools.ts");
  const output = [
    "\x1b[1mLab 03 · Private mapping and copy-on-write\x1b[0m  11 of 11 checks passed, 11/11 points",
    "Lab 04 · Anonymous memory  9 of 13 checks passed, 9/13 points",
    "Lab 07 · Shared counter  6 of 7 checks passed, 13/15 points",
  ].join("\n");
  assert.equal(failedLabs(output), "; labs not passing: 04, 07");
  assert.equal(failedLabs("Lab 00 · Hello, mapping  3 of 3 checks passed, 5/5 points"), "");
});
