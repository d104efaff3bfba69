/**
 * Fail fast, and keep every output in step: an output that cannot be written
 * stops `deno task grade` before anything is graded; `--update` writes again
 * the CSV its grades file was written with (or says it left it stale);
 * `submissions/` inside the project is ignored by git and by `deno task check`.
 */

import assert from "node:assert/strict";
import { buildClass, freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import { git, task } from "./course.ts";
import type { GradeReport } from "../../lib/grader/types.ts";

Deno.test("grade: an output that cannot be written stops it before grading (class and Gradescope)", async () => {
  const dir = freshDir("failfast");
  try {
    buildClass(`${dir}/submissions`, ["partial"]);
    const json = `${dir}/out/class.json`;
    const run = await task(
      PROJECT_ROOT,
      "grade",
      `${dir}/submissions`,
      "--lab",
      "0",
      "--json",
      json,
      "--csv",
      "/proc/mmap-lab-class.csv",
    );
    assert.equal(run.code, 1, run.out);
    assert.match(run.stderr, /mmap-lab-class\.csv.*nothing was graded/);
    assert.doesNotMatch(run.stderr, /\[1\/1\]/, "nothing was graded");
    assert.throws(() => Deno.statSync(json), Deno.errors.NotFound);

    // A folder given as a file.
    const folder = await task(
      PROJECT_ROOT,
      "grade",
      `${dir}/submissions`,
      "--lab",
      "0",
      "--csv",
      dir,
    );
    assert.equal(folder.code, 1, folder.out);
    assert.match(folder.stderr, /is a folder: name a file; nothing was graded/);

    // The docs' pre-upload check with results where the permission set cannot write.
    const gs = await task(
      PROJECT_ROOT,
      "grade",
      "--gradescope",
      "--lab",
      "0",
      "--submission",
      `${dir}/submissions/partial`,
      "--results",
      "/proc/results.json",
    );
    assert.equal(gs.code, 1, gs.out);
    assert.match(gs.stderr, /results\.json.*nothing was graded/);
    assert.doesNotMatch(gs.stderr, /\[1\/1\]/);
  } finally {
    removeDir(dir);
  }
});

Deno.test("grade --update: the CSV written with the grades file is kept in step, or named as stale", async () => {
  const dir = freshDir("update-csv");
  try {
    const subs = `${dir}/submissions`;
    buildClass(subs, ["perfect", "partial"]);
    const csv = `${dir}/out/class.csv`;
    const json = `${dir}/out/class.json`;
    const first = await task(
      PROJECT_ROOT,
      "grade",
      subs,
      "--lab",
      "0",
      "--csv",
      csv,
      "--json",
      json,
    );
    assert.equal(first.code, 0, first.out);
    assert.match(Deno.readTextFileSync(csv), /^partial,3,/m);
    const report: GradeReport = JSON.parse(Deno.readTextFileSync(json));
    assert.equal(report.outputs?.csv, csv);

    // The student fixes the file; the re-grade names only the JSON.
    Deno.copyFileSync(
      `${PROJECT_ROOT}/solutions/00_hello_mapping/hello.ts`,
      `${subs}/partial/00_hello_mapping/hello.ts`,
    );
    const again = await task(
      PROJECT_ROOT,
      "grade",
      subs,
      "--student",
      "partial",
      "--lab",
      "0",
      "--json",
      json,
      "--update",
    );
    assert.equal(again.code, 0, again.out);
    assert.match(
      again.stderr,
      /wrote .*class\.csv \(written with .*class\.json before: kept in step\)/,
    );
    assert.match(Deno.readTextFileSync(csv), /^partial,5,/m);
    assert.match(Deno.readTextFileSync(csv), /^perfect,5,/m);

    // The CSV's place cannot be written any more: the update says so, and still updates the JSON.
    const moved: GradeReport = JSON.parse(Deno.readTextFileSync(json));
    moved.outputs = { csv: "/proc/gone/class.csv" };
    Deno.writeTextFileSync(json, JSON.stringify(moved));
    const stale = await task(
      PROJECT_ROOT,
      "grade",
      subs,
      "--student",
      "perfect",
      "--lab",
      "0",
      "--json",
      json,
      "--update",
    );
    assert.equal(stale.code, 0, stale.out);
    assert.match(
      stale.stderr,
      /warning: \/proc\/gone\/class\.csv, written with .* before, will be left stale/,
    );
  } finally {
    removeDir(dir);
  }
});

Deno.test("submissions/ and grades/ inside the project: ignored by git, fmt, lint and check", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/deno.json`));
  for (const list of [config.exclude, config.fmt.exclude, config.lint.exclude]) {
    assert.ok(list.includes("submissions/") && list.includes("grades/"), JSON.stringify(list));
  }
  for (const path of ["submissions/alice/hello.ts", "grades/class.json"]) {
    assert.equal(git(PROJECT_ROOT, "check-ignore", path).trim(), path);
  }
});
