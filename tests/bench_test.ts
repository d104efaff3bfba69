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
  assert.deepEqual(report.sections.map((s) => s.id), ["1", "1b", "2", "3", "4"]);
  assert.equal(report.failedSections, 0);
});
