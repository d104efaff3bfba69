/**
 * Hidden checks in `checker/hidden.ts`: graded (after the lab's own checks,
 * a parent in check.ts honoured), never run by the student runner; an id
 * that repeats between the two files is a checker error, not a crash.
 */

import assert from "node:assert/strict";
import { gradeSubmissions, listSubmissions } from "../../lib/grader/batch.ts";
import { loadCatalog } from "../../lib/catalog.ts";
import { runLab } from "../../lib/checker/run.ts";
import { copyTree, freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";

/** A small instructor tree: this project's lib/, one lab whose hidden check lives in hidden.ts. */
function tree(dir: string, hidden: string): string {
  const root = `${dir}/course`;
  Deno.mkdirSync(`${root}/labs/00_secret/checker`, { recursive: true });
  copyTree(`${PROJECT_ROOT}/lib`, `${root}/lib`);
  Deno.writeTextFileSync(
    `${root}/labs/labs.json`,
    JSON.stringify({
      labs: [{ id: "00_secret", title: "Secret", file: "answer.ts", goal: "g", hints: ["h"] }],
    }),
  );
  Deno.writeTextFileSync(
    `${root}/labs/00_secret/answer.ts`,
    "export const ANSWER: number | undefined = undefined; // TODO\n",
  );
  Deno.writeTextFileSync(
    `${root}/labs/00_secret/checker/drive.ts`,
    `import { defineDrive, studentValue } from "../../../lib/checker/drive.ts";
export default defineDrive((ctx) => studentValue(ctx, "ANSWER"));
`,
  );
  Deno.writeTextFileSync(
    `${root}/labs/00_secret/checker/check.ts`,
    `import { defineChecks } from "../../../lib/checker/mod.ts";
export default defineChecks([
  { id: "loads", title: "the module loads", points: 1, stubMayPass: true,
    async run(ctx) { ctx.expectOk(await ctx.run("drive.ts")); } },
]);
`,
  );
  Deno.writeTextFileSync(`${root}/labs/00_secret/checker/hidden.ts`, hidden);
  return root;
}

const SECRET = `import { defineHiddenChecks } from "../../../lib/checker/mod.ts";
export default defineHiddenChecks([
  { id: "secret", title: "the answer is 42", points: 2, parent: "loads",
    async run(ctx) {
      ctx.expectEqual(ctx.expectOk(await ctx.run("drive.ts")), 42, { what: "ANSWER" });
    } },
]);
`;

Deno.test("hidden.ts: its checks count when grading, after the lab's own, and never run for students", async () => {
  const dir = freshDir("hidden-file");
  try {
    const root = tree(dir, SECRET);
    for (const [name, value] of [["right", 42], ["wrong", 41]] as const) {
      Deno.mkdirSync(`${dir}/submissions/${name}`, { recursive: true });
      Deno.writeTextFileSync(
        `${dir}/submissions/${name}/answer.ts`,
        `export const ANSWER = ${value};\n`,
      );
    }
    const report = await gradeSubmissions({
      root,
      submissions: listSubmissions(`${dir}/submissions`),
      gradingRoot: `${dir}/grading`,
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.labs[0].maxScore, 3);
    assert.deepEqual(report.labs[0].checks.map((c) => [c.id, c.hidden]), [
      ["loads", false],
      ["secret", true],
    ]);
    const [right, wrong] = report.students;
    assert.equal(right.score, 3);
    assert.equal(wrong.score, 1);
    assert.equal(wrong.labs[0].checks[1].status, "failed");

    // The runner: the lab's own checks only.
    const catalog = loadCatalog(root);
    const result = await runLab(catalog, catalog.labs[0], { scratchRoot: `${dir}/scratch` });
    assert.deepEqual(result.checks.map((c) => c.id), ["loads"]);
    assert.equal(result.maxScore, 1);
  } finally {
    removeDir(dir);
  }
});

Deno.test("hidden.ts: an id used twice is a grading problem with the lab named, not a crash", async () => {
  const dir = freshDir("hidden-dup");
  try {
    const root = tree(
      dir,
      SECRET.replace('id: "secret"', 'id: "loads"').replace(', parent: "loads"', ""),
    );
    Deno.mkdirSync(`${dir}/submissions/a`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/submissions/a/answer.ts`, "export const ANSWER = 42;\n");
    const report = await gradeSubmissions({
      root,
      submissions: listSubmissions(`${dir}/submissions`),
      gradingRoot: `${dir}/grading`,
    });
    assert.match(report.problems.join("\n"), /duplicate check id loads in 00_secret/);
    assert.equal(report.students[0].labs[0].status, "error");
  } finally {
    removeDir(dir);
  }
});
