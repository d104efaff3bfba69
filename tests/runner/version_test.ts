/** The Deno version check every task runs first (`cli/require_deno.ts`). */
import assert from "node:assert/strict";
import {
  NEWEST_MAJOR,
  OLDEST,
  OLDEST_FOR_TESTS,
  PINNED,
  versionProblem,
} from "../../cli/require_deno.ts";

Deno.test("require_deno: one plain sentence outside the supported range, nothing inside it", () => {
  for (const old of ["1.46.3", "2.3.7", "2.4.4"]) {
    const problem = versionProblem(old);
    assert.ok(problem, old);
    assert.match(problem, new RegExp(`needs Deno ${OLDEST} or newer, and this is Deno ${old}`));
    assert.match(problem, new RegExp(`deno upgrade ${PINNED}`));
    assert.equal(problem.split("\n").length, 1);
  }
  const tooNew = versionProblem(`${NEWEST_MAJOR + 1}.0.0`);
  assert.match(tooNew ?? "", /a new major version may change FFI or permissions/);
  for (const ok of [OLDEST, PINNED, "2.9.6", `${NEWEST_MAJOR}.99.0`, Deno.version.deno]) {
    assert.equal(versionProblem(ok), undefined, ok);
  }
  // The contributors' suite asks for more than the labs do.
  assert.match(versionProblem(OLDEST, OLDEST_FOR_TESTS) ?? "", /the test suite needs Deno/);
  assert.equal(versionProblem(OLDEST_FOR_TESTS, OLDEST_FOR_TESTS), undefined);
});

Deno.test("require_deno: every task starts with the check, before any permission-set flag", () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  // "check" is fmt, lint and type check: Deno's own tools, with nothing of ours to run first.
  const names = Object.keys(config.tasks).filter((name) => name !== "check");
  assert.ok(names.includes("lab") && names.includes("test"), names.join(", "));
  for (const name of names) {
    const task: string = config.tasks[name];
    assert.match(task, /^deno run -q --no-config cli\/require_deno\.ts (--tests )?&& /, name);
  }
});
