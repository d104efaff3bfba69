/**
 * The project's honesty check (like rustlings' `dev check`), for every lab in
 * labs/labs.json:
 * - the reference solution passes every check, hidden ones included;
 * - the untouched stub fails every check (but those marked `stubMayPass`);
 * - the stub has `TODO` markers;
 * - every plausible wrong solution in `tests/wrong/<lab>/` is rejected by the
 *   checks its header names, with a message matching the header's pattern:
 *   `expect-fail: <check-id> /<regex>/`. Each is a `.mistake` file: the
 *   solution with a few lines replaced (see `lib/grader/mistakes.ts`).
 * - no result, of a solution or of a mistake, contradicts itself: a message
 *   against its own notes, details or recorded calls (`tests/contradictions.ts`).
 */

import assert from "node:assert/strict";
import { findLab, labFile, loadCatalog, solutionFile } from "../lib/catalog.ts";
import { type LabResult, runLab } from "../lib/checker/run.ts";
import { loadLabChecks } from "../lib/checker/load.ts";
import {
  applyMistake,
  type Expectation,
  failureText,
  labMistakes,
  parseMistake,
} from "../lib/grader/mistakes.ts";
import { contradictions } from "./contradictions.ts";

const catalog = loadCatalog();

function summary(result: LabResult): string {
  return result.checks.map((c) =>
    `  ${c.status.padEnd(7)} ${c.id}: ${c.message} ${JSON.stringify(c.details)} ${
      c.notes.join(" | ")
    }`
  ).join("\n") + (result.error ? `\n  error: ${result.error}` : "");
}

const rightRoot = new URL("./right/", import.meta.url);

/**
 * Correct variants of a solution, `tests/right/<lab>/*.variant` (the `.mistake` format, with no
 * `expect-fail:` line): each must pass every check, as the reference solution does. A slower
 * but correct solution (lab 10 with an msync on every append) belongs here.
 */
function rightVariants(labId: string): { name: string; path: () => string }[] {
  const dir = new URL(`${labId}/`, rightRoot);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
  const lab = findLab(catalog, labId)!;
  return entries.filter((e) => e.isFile && e.name.endsWith(".variant")).sort((a, b) =>
    a.name.localeCompare(b.name)
  ).map((e) => {
    const text = Deno.readTextFileSync(decodeURIComponent(new URL(e.name, dir).pathname));
    const variant = parseMistake(e.name.replace(/\.variant$/, ""), text);
    const path = () => {
      const source = applyMistake(Deno.readTextFileSync(solutionFile(catalog.root, lab)), variant);
      Deno.mkdirSync(materialized, { recursive: true });
      const out = `${materialized}/${labId}__right_${variant.name}.ts`;
      Deno.writeTextFileSync(out, source);
      return out;
    };
    return { name: e.name, path };
  });
}

/** Where `.mistake` files are written out as modules (two levels down, like solutions/NN/). */
const materialized = `${catalog.root}/.mmap-lab/wrong`;

function wrongSolutions(
  labId: string,
): { name: string; path: () => string; expects: Expectation[] }[] {
  const lab = findLab(catalog, labId)!;
  // Written out when its test runs: a mistake that no longer fits the solution fails there.
  return labMistakes(catalog.root, labId, solutionFile(catalog.root, lab))
    .map((m) => ({ name: m.file, path: m.materialize, expects: m.expects }));
}

for (const lab of catalog.labs) {
  Deno.test(`${lab.id}: the reference solution passes every check`, async () => {
    const result = await runLab(catalog, lab, {
      studentFile: solutionFile(catalog.root, lab),
      includeHidden: true,
    });
    assert.ok(result.checks.length > 0, `no checks ran:\n${summary(result)}`);
    assert.ok(result.passed, `solution failed:\n${summary(result)}`);
    assert.deepEqual(contradictions(result), [], summary(result));
  });

  Deno.test(`${lab.id}: the untouched stub fails its checks`, async () => {
    const checks = await loadLabChecks(catalog.root, lab, { includeHidden: true });
    const mayPass = new Set(checks.filter((c) => c.stubMayPass).map((c) => c.id));
    const result = await runLab(catalog, lab, { includeHidden: true });
    assert.equal(result.error, undefined);
    for (const c of result.checks) {
      if (mayPass.has(c.id)) continue;
      assert.notEqual(c.status, "passed", `stub passes ${c.id}:\n${summary(result)}`);
      assert.ok(!c.internalError, `checker error on the stub in ${c.id}:\n${summary(result)}`);
    }
    assert.ok(result.score < result.maxScore);
  });

  Deno.test(`${lab.id}: the stub marks what to do with TODO`, () => {
    const text = Deno.readTextFileSync(labFile(catalog.root, lab));
    assert.match(text, /\/\/ TODO/);
    const solution = Deno.readTextFileSync(solutionFile(catalog.root, lab));
    assert.doesNotMatch(solution, /\/\/ TODO/, "the solution still has a TODO");
  });

  for (const right of rightVariants(lab.id)) {
    Deno.test(`${lab.id}: correct variant ${right.name} passes every check`, async () => {
      const result = await runLab(catalog, lab, { studentFile: right.path(), includeHidden: true });
      assert.ok(result.checks.length > 0, `no checks ran:\n${summary(result)}`);
      assert.ok(result.passed, `${right.name} failed:\n${summary(result)}`);
    });
  }

  for (const wrong of wrongSolutions(lab.id)) {
    Deno.test(`${lab.id}: wrong solution ${wrong.name} is rejected`, async () => {
      assert.ok(wrong.expects.length > 0, `${wrong.name} has no "expect-fail:" line`);
      const result = await runLab(catalog, lab, { studentFile: wrong.path(), includeHidden: true });
      for (const { id, pattern } of wrong.expects) {
        const check = result.checks.find((c) => c.id === id);
        assert.ok(check, `no check ${id} in ${lab.id}`);
        assert.equal(check.status, "failed", `${id} did not fail:\n${summary(result)}`);
        assert.ok(!check.internalError, `checker error in ${id}:\n${summary(result)}`);
        assert.match(
          failureText(check),
          pattern,
          `${id} failed, but its message does not name the mistake:\n${summary(result)}`,
        );
      }
      assert.deepEqual(contradictions(result), [], summary(result));
    });
  }
}

Deno.test("every .mistake fits its solution and type-checks", async () => {
  const files = catalog.labs.flatMap((lab) => wrongSolutions(lab.id).map((w) => w.path()));
  const variants = catalog.labs.flatMap((lab) => rightVariants(lab.id).map((r) => r.path()));
  assert.ok(files.length >= 3 * catalog.labs.length, `only ${files.length} wrong solutions`);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--no-config", ...files, ...variants], // the config excludes .mmap-lab/
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});

Deno.test("labs.json: every lab has its files, and ids are unique and ordered", () => {
  const ids = catalog.labs.map((l) => l.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  for (const lab of catalog.labs) {
    assert.ok(findLab(catalog, lab.id));
    for (const file of [labFile(catalog.root, lab), solutionFile(catalog.root, lab)]) {
      assert.ok(Deno.statSync(file).isFile, file);
    }
    assert.ok(
      Deno.statSync(`${catalog.root}/labs/${lab.id}/README.md`).isFile,
      `${lab.id}/README.md`,
    );
    assert.ok(lab.hints.length > 0, `${lab.id} has no hints`);
  }
});
