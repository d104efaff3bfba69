/**
 * `deno task grade selftest`: the reference solution must score full marks
 * and every mistake must lose the points it targets; a lab where either does
 * not hold FAILs, with the reason, and the exit status is 1.
 */

import assert from "node:assert/strict";
import { freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import { copyCourse, task } from "./course.ts";
import { formatSelfTest, selfTest } from "../../lib/grader/selftest.ts";
import { readMistakes } from "../../lib/grader/selftest.ts";

Deno.test("selftest: lab 00's solution scores full marks and each of its mistakes loses its points", async () => {
  const report = await selfTest({ labs: ["0"], workDir: `${PROJECT_ROOT}/.mmap-lab/selftest` });
  const [lab] = report.labs;
  assert.equal(lab.id, "00_hello_mapping");
  assert.equal(lab.solutionScore, lab.maxScore, formatSelfTest(report));
  assert.equal(lab.mistakes.length, readMistakes(PROJECT_ROOT, lab.id).length);
  assert.ok(lab.mistakes.length >= 3);
  assert.ok(lab.mistakes.every((m) => m.caught), formatSelfTest(report));
  assert.ok(report.ok);
  const n = lab.mistakes.length;
  assert.match(
    formatSelfTest(report),
    new RegExp(`^ok {3}00_hello_mapping {2}solution 5/5; ${n} of ${n} mistakes`, "m"),
  );
});

Deno.test("selftest: a mistake that keeps its points, one that no longer fits, a broken solution: FAIL, exit 1", async () => {
  const dir = freshDir("selftest");
  try {
    const root = `${dir}/course`;
    copyCourse(
      root,
      (f) =>
        /^(lib|cli|labs)\//.test(f) || f === "deno.json" ||
        f.startsWith("solutions/00_") || f.startsWith("tests/wrong/00_"),
    );
    const wrong = `${root}/tests/wrong/00_hello_mapping`;
    // Changes a comment only: the code is right, so the check it targets passes.
    Deno.writeTextFileSync(
      `${wrong}/harmless.mistake`,
      `Not a mistake at all.
expect-fail: through-mapping /munmap/

--- solution
  // No msync needed for other processes to see it; \`using\` unmaps here.
+++ mistake
  // A comment changed.
`,
    );
    Deno.writeTextFileSync(
      `${wrong}/stale.mistake`,
      "Written against an older solution.\nexpect-fail: runs /x/\n\n--- solution\n  nowhere();\n+++ mistake\n",
    );
    const ok = await task(root, "grade", "selftest", "--lab", "0", "--quiet");
    assert.equal(ok.code, 1, ok.out);
    // Every mistake of lab 00 loses its points; the two written here do not.
    const n = readMistakes(PROJECT_ROOT, "00_hello_mapping").length;
    assert.match(
      ok.stdout,
      new RegExp(`^FAIL 00_hello_mapping {2}solution 5/5; ${n} of ${n + 2} mistakes`, "m"),
    );
    assert.match(ok.stdout, /mistake harmless keeps the points of through-mapping: passed, 2\/2/);
    assert.match(ok.stdout, /mistake stale: it no longer fits the solution/);
    assert.match(ok.stdout, /1 of 1 lab FAILS the self-test on .*: do not grade it/);

    // The reference solution itself loses points (here: it writes nothing).
    Deno.removeSync(`${wrong}/harmless.mistake`);
    Deno.removeSync(`${wrong}/stale.mistake`);
    const solution = `${root}/solutions/00_hello_mapping/hello.ts`;
    Deno.writeTextFileSync(
      solution,
      Deno.readTextFileSync(solution).replace("mapping.bytes.set(bytes, 0);", "void bytes;"),
    );
    const broken = await task(root, "grade", "selftest", "--lab", "0", "--quiet");
    assert.equal(broken.code, 1, broken.out);
    assert.match(broken.stdout, /^FAIL 00_hello_mapping {2}solution 1\/5/m);
    assert.match(broken.stdout, /the reference solution fails file-holds-message: /);

    // No solutions at all: the lab cannot be self-tested, and says why.
    Deno.removeSync(`${root}/solutions`, { recursive: true });
    const none = await task(root, "grade", "selftest", "--lab", "0", "--quiet");
    assert.equal(none.code, 1, none.out);
    assert.match(none.stdout, /^FAIL 00_hello_mapping {2}no reference solution/m);
    assert.doesNotMatch(none.out, /^\s+at /m);

    const usage = await task(root, "grade", "selftest", "--lab", "99");
    assert.equal(usage.code, 2, usage.out);
  } finally {
    removeDir(dir);
  }
});
