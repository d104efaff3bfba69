/**
 * `deno task handout`: the student edition holds no solution line, no hidden
 * check (nor its hint), no instructor tool or document, and works on its own
 * from a fresh clone; a lab with an inline hidden check, or a lesson holding a
 * solution line, is refused with nothing left behind.
 */

import assert from "node:assert/strict";
import { freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import { copyCourse, git, task } from "./course.ts";
import { loadCatalog, solutionFile } from "../../lib/catalog.ts";
import { findLeaks, solutionLines, studentReadme } from "../../lib/grader/handout.ts";
import { loadLabChecks } from "../../lib/checker/load.ts";

const MARKER = "zq-hidden-marker-7f3a";

/** Every file under `dir` (relative), `.git` aside. */
function allFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(rel ? `${dir}/${rel}` : dir)) {
    if (e.name === ".git") continue;
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...allFiles(dir, child));
    else out.push(child);
  }
  return out;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** An instructor's tree with a hidden check in lab 00 and personal data lying around. */
function course(dir: string): string {
  const root = `${dir}/course`;
  copyCourse(root, (f) => !f.startsWith("bench/")); // the benchmarks are not needed here
  Deno.writeTextFileSync(
    `${root}/labs/00_hello_mapping/checker/hidden.ts`,
    `// ${MARKER}: grading only
import { defineHiddenChecks } from "../../../lib/checker/mod.ts";

export default defineHiddenChecks([{
  id: "${MARKER}",
  title: "the message is there twice (${MARKER})",
  points: 3,
  parent: "runs",
  hint: "HINT ${MARKER}",
  async run(ctx) {
    ctx.expectOk(await ctx.run("hidden_drive.ts", {}));
  },
}]);
`,
  );
  Deno.writeTextFileSync(
    `${root}/labs/00_hello_mapping/checker/hidden_drive.ts`,
    `// ${MARKER}\nimport { defineDrive } from "../../../lib/checker/mod.ts";\nexport default defineDrive(() => 1);\n`,
  );
  Deno.mkdirSync(`${root}/grades`);
  Deno.writeTextFileSync(`${root}/grades/class.json`, `{"alice": 57, "${MARKER}": 1}\n`);
  Deno.mkdirSync(`${root}/submissions/alice`, { recursive: true });
  Deno.writeTextFileSync(`${root}/submissions/alice/hello.ts`, `// ${MARKER}\n`);
  git(root, "add", "-A");
  git(root, "commit", "-qm", "a hidden check");
  return root;
}

Deno.test("handout: no solution, mistake, hidden check or instructor file; works from a fresh clone", async () => {
  const dir = freshDir("handout");
  try {
    const root = course(dir);
    const lab0 = loadCatalog(root).labs[0];
    // The grader still sees the hidden check in the instructor's tree; the runner does not.
    const graded = await loadLabChecks(root, lab0, { includeHidden: true });
    assert.ok(graded.some((c) => c.id === MARKER && c.hidden));
    const visible = await loadLabChecks(root, lab0);
    assert.ok(!visible.some((c) => c.id === MARKER));

    const student = `${dir}/student`;
    const built = await task(root, "handout", student);
    assert.equal(built.code, 0, built.out);
    assert.match(built.stdout, /solutions\/ +the reference solutions/);
    assert.match(built.stdout, /hidden\.ts +hidden checks/);

    const files = allFiles(student);
    for (const file of files) {
      assert.doesNotMatch(
        file,
        /^(solutions|bench|grades|submissions|\.ci)\/|^docs\/(?!img\/)|\.mistake$|\.variant$|\/hidden[^/]*$|^lib\/grader\/|^cli\/(grade[^/]*|mutants|handout|resolve)\.ts$/,
        `${file} must not be in the handout`,
      );
      const text = Deno.readTextFileSync(`${student}/${file}`);
      assert.ok(!text.includes(MARKER), `${file} holds the hidden check (or personal data)`);
    }
    // The README's pictures ship with it (docs/img/); the rest of docs/ does not.
    const pictures = [
      ...Deno.readTextFileSync(`${student}/README.md`).matchAll(/\]\((docs\/img\/[^)]+)\)/g),
    ]
      .map((m) => m[1]);
    for (const picture of pictures) assert.ok(files.includes(picture), picture);
    for (const needed of ["README.md", "deno.json", "cli/lab.ts", "lib/mod.ts", "labs/labs.json"]) {
      assert.ok(files.includes(needed), needed);
    }
    for (const lab of loadCatalog(root).labs) {
      assert.ok(files.includes(`labs/${lab.id}/${lab.file}`), lab.id);
      assert.ok(files.includes(`labs/${lab.id}/checker/check.ts`), lab.id);
    }

    // No line of any solution that is not in its stub (nor trivial, nor code shipped by design).
    const answers = solutionLines(root);
    for (const lab of loadCatalog(root).labs) {
      assert.ok((answers.get(lab.id)?.size ?? 0) >= 3, `${lab.id}: too few solution lines to test`);
    }
    assert.deepEqual(findLeaks(student, answers), []);
    // The same detector finds them in the instructor's tree (solutions/, the .mistake files).
    const inCourse = findLeaks(root, answers);
    assert.ok(inCourse.some((l) => l.file === solutionFile("", lab0).slice(1)));
    assert.ok(inCourse.some((l) => l.file.endsWith(".mistake")));

    // The students' README and tasks.
    const readme = Deno.readTextFileSync(`${student}/README.md`);
    assert.match(readme, /## For students/);
    assert.match(readme, /student edition/);
    assert.doesNotMatch(readme, /## For instructors|deno task grade|docs\/grading\.md/);
    const config = JSON.parse(Deno.readTextFileSync(`${student}/deno.json`));
    assert.deepEqual(Object.keys(config.tasks).sort(), ["check", "lab", "test"]);
    assert.deepEqual(Object.keys(config.permissions), ["lab"]);

    // One commit, nothing left uncommitted.
    assert.equal(git(student, "log", "--oneline").trim().split("\n").length, 1);
    assert.equal(git(student, "status", "--porcelain"), "");

    // A student clones it and starts.
    const clone = `${dir}/clone`;
    git(dir, "clone", "-q", student, clone);
    const check = await task(clone, "lab", "check", "0");
    assert.equal(check.code, 1, check.out);
    assert.match(check.stdout, /00_hello_mapping: \d+ of \d+ checks passed/);
    assert.doesNotMatch(check.out, /Please report|^\s+at /m);
    assert.ok(!check.out.includes(MARKER));
    const solution = await task(clone, "lab", "solution", "0", "--force");
    assert.equal(solution.code, 1, solution.out);
    assert.match(solution.stdout, /come from your instructor/);
    assert.doesNotMatch(solution.out, /Please report|^\s+at /m);
    // The instructor hands the solutions out later: the same command shows them.
    Deno.mkdirSync(`${clone}/solutions/00_hello_mapping`, { recursive: true });
    Deno.copyFileSync(
      solutionFile(PROJECT_ROOT, lab0),
      `${clone}/solutions/00_hello_mapping/hello.ts`,
    );
    const later = await task(clone, "lab", "solution", "0", "--force");
    assert.equal(later.code, 0, later.out);
    assert.ok(later.stdout.includes(Deno.readTextFileSync(solutionFile(PROJECT_ROOT, lab0))));
  } finally {
    removeDir(dir);
  }
});

Deno.test("handout: refused, with nothing left behind, for an inline hidden check or a leaked solution line", async () => {
  const dir = freshDir("handout-refused");
  try {
    const root = `${dir}/course`;
    copyCourse(root, (f) => !f.startsWith("bench/") && !f.startsWith("tests/"));
    const lab0 = loadCatalog(root).labs[0];

    // A lesson that quotes the answer.
    const answer = [...solutionLines(root).get(lab0.id)!][0];
    const lesson = `${root}/labs/${lab0.id}/README.md`;
    Deno.writeTextFileSync(lesson, `${Deno.readTextFileSync(lesson)}\n    ${answer}\n`);
    const leaked = await task(root, "handout", `${dir}/student`);
    assert.equal(leaked.code, 1, leaked.out);
    assert.ok(leaked.stderr.includes(`labs/${lab0.id}/README.md holds a line of the solution`));
    assert.ok(!exists(`${dir}/student`), "the refused handout was removed");

    // A hidden check declared inline in check.ts.
    git(root, "checkout", "--", `labs/${lab0.id}/README.md`);
    const check = `${root}/labs/${lab0.id}/checker/check.ts`;
    const text = Deno.readTextFileSync(check);
    const at = text.lastIndexOf("]);");
    Deno.writeTextFileSync(
      check,
      `${
        text.slice(0, at)
      }  { id: "inline-secret", title: "x", points: 1, hidden: true, run() {} },\n${
        text.slice(at)
      }`,
    );
    Deno.mkdirSync(`${dir}/empty`);
    const inline = await task(root, "handout", `${dir}/empty`);
    assert.equal(inline.code, 1, inline.out);
    assert.match(inline.stderr, /declares hidden checks inline \(inline-secret\).*hidden\.ts/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/empty`)], []);

    // A folder that is not empty, or inside the tree, is refused before anything is written.
    for (const dest of [root, `${root}/handout`]) {
      const r = await task(root, "handout", dest);
      assert.equal(r.code, 1, r.out);
    }
  } finally {
    removeDir(dir);
  }
});

Deno.test("handout: the students' README keeps their sections and says where solutions come from", () => {
  const readme = studentReadme(Deno.readTextFileSync(`${PROJECT_ROOT}/README.md`));
  for (const heading of ["## Get Deno", "## For students", "## The library"]) {
    assert.ok(readme.includes(heading), heading);
  }
  for (const heading of ["## For instructors", "## Performance", "## For contributors"]) {
    assert.ok(!readme.includes(heading), heading);
  }
  assert.match(readme, /\| `deno task lab solution <lab>` \| the reference solution, once/);
  assert.doesNotMatch(readme, /--force` to peek/);
});
