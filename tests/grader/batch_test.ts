/**
 * The grader on its adversarial class (tests/fixtures/submissions/ and the
 * generated perfect/untouched/symlinked submissions): each gets exactly the
 * right score on lab 00, the batch finishes fast, nothing is left running,
 * nothing is written outside the children's scratch folders.
 */

import assert from "node:assert/strict";
import { gradeSubmissions, listSubmissions, loadLabMeta } from "../../lib/grader/batch.ts";
import { attempted, summarize } from "../../lib/grader/summary.ts";
import type { GradeReport, LabGrade, LabMeta } from "../../lib/grader/types.ts";
import { findLab, loadCatalog } from "../../lib/catalog.ts";
import {
  alive,
  buildClass,
  copyTree,
  findFiles,
  freshDir,
  PROJECT_ROOT,
  removeDir,
  storedFixtures,
  writePerfect,
} from "./fixtures.ts";
import { kernelLabel, kernelProfile } from "../../lib/profile.ts";

const LAB = "00_hello_mapping";
const catalog = loadCatalog(PROJECT_ROOT);
const [meta] = await loadLabMeta(PROJECT_ROOT, [findLab(catalog, LAB)!]);

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function points(m: LabMeta, id: string): number {
  const check = m.checks.find((c) => c.id === id);
  assert.ok(check, `lab 00 has no check ${id}`);
  return check.points;
}

type Status = "passed" | "failed" | "skipped";
interface Expected {
  score: number;
  status?: LabGrade["status"];
  /** Status of each check by id; unnamed checks must pass when `rest` is passed, … */
  checks?: Record<string, Status>;
  rest?: Status;
  /** A pattern the first failing check's message must match. */
  message?: RegExp;
}

/** Lab 00's checks are runs → file-holds-message → through-mapping (parents in that order). */
function expectations(m: LabMeta): Record<string, Expected> {
  const full = m.maxScore;
  const crash = (message: RegExp): Expected => ({
    score: 0,
    checks: { runs: "failed" },
    rest: "skipped",
    message,
  });
  const write = full - points(m, "through-mapping");
  const forged: Expected = {
    score: write,
    checks: { "through-mapping": "failed" },
    rest: "passed",
    message: /no shared, writable mmap\(\) of the message's file was made/,
  };
  return {
    "perfect": { score: full, rest: "passed" },
    // Not attempted: not run, no points for what the stub passes as handed out.
    "untouched": {
      score: 0,
      rest: "failed",
      message: /^not attempted: hello\.ts is the lab's stub/,
    },
    "partial": {
      score: write,
      checks: { "through-mapping": "failed" },
      rest: "passed",
      message: /mmap/,
    },
    "segfault": crash(/SIGSEGV/),
    "sigbus": crash(/SIGBUS/),
    "infinite-loop": crash(/time limit/),
    "sleeps": crash(/time limit/),
    "output-flood": { score: full, rest: "passed" },
    "many-processes": { score: full, rest: "passed" },
    "daemonizes": { score: full, rest: "passed" },
    "allocates": crash(/allocation failed|out of memory|SIGTRAP|SIGABRT|SIGKILL/i),
    "edits-checker": {
      score: write,
      checks: { "through-mapping": "failed" },
      rest: "passed",
      message: /mmap/,
    },
    "fake-output": crash(/all checks passed/),
    "writes-elsewhere": { score: full, rest: "passed" },
    // Forged evidence: another process wrote the file (no mmap), and a forged call record
    // (open, mmap MAP_SHARED|PROT_WRITE, munmap) was slipped into the harness's messages, the
    // record, or what serializes them. The forged part, through-mapping, fails.
    "rewrites-protocol": forged,
    "patches-prototypes": forged,
    "forges-record": forged,
    "patches-libc": { score: full, rest: "passed" },
    "symlinked": { score: 0, status: "missing", rest: "failed", message: /symbolic link/ },
  };
}

function byName(report: GradeReport, name: string) {
  const student = report.students.find((s) => s.name === name);
  assert.ok(student, `no student ${name}`);
  return student;
}

function describe(report: GradeReport): string {
  return report.students.map((s) =>
    `${s.name}: ${s.score}/${s.maxScore} ` +
    s.labs.map((l) =>
      `[${l.status}] ` + l.checks.map((c) => `${c.id}=${c.status} (${c.message.slice(0, 80)})`)
        .join("; ")
    ).join(" ")
  ).join("\n");
}

Deno.test("grader: every adversarial submission gets exactly its score, and nothing escapes", async () => {
  const dir = freshDir("class");
  try {
    const names = buildClass(`${dir}/submissions`);
    const expected = expectations(meta);
    // Every stored fixture has an expectation, and the other way round.
    for (const name of storedFixtures()) assert.ok(expected[name], `no expectation for ${name}`);
    assert.deepEqual(names, Object.keys(expected).sort());

    // How long it takes is the bench's business (section 4), not a test's.
    const report = await gradeSubmissions({
      submissions: listSubmissions(`${dir}/submissions`),
      labs: [LAB],
      jobs: 2,
      gradingRoot: `${dir}/grading`,
      keep: true, // to look for what the children left behind
    });
    const text = describe(report);
    assert.deepEqual(report.problems, [], text);

    for (const student of report.students) {
      const want = expected[student.name];
      const [grade] = student.labs;
      assert.equal(student.score, want.score, `${student.name}:\n${text}`);
      assert.equal(grade.maxScore, meta.maxScore, `${student.name}: max score`);
      assert.equal(grade.status, want.status ?? "graded", `${student.name}: lab status`);
      for (const c of grade.checks) {
        const status = want.checks?.[c.id] ?? want.rest ?? "failed";
        assert.equal(c.status, status, `${student.name} ${c.id}:\n${text}`);
        assert.ok(!c.internalError, `${student.name} ${c.id}: internal error`);
      }
      if (want.message) {
        const failed = grade.checks.find((c) => c.status === "failed");
        assert.match(failed?.message ?? "", want.message, `${student.name}:\n${text}`);
      }
    }

    // The libc table refused the patch: the fault count is the kernel's, not 42.
    const libcOutput = byName(report, "patches-libc").labs[0].checks[0].output?.stdout ?? "";
    assert.match(libcOutput, /libc table: refused \(TypeError\)/, libcOutput);
    assert.doesNotMatch(libcOutput, /minor faults: 42\n/, libcOutput);
    const recordOutput = byName(report, "forges-record").labs[0].checks[0].output?.stdout ?? "";
    assert.match(recordOutput, /refused: the call record is sealed/, recordOutput);

    // The flood was capped, not kept: the JSON report stays small.
    assert.ok(JSON.stringify(report).length < 200_000);

    // Nothing the children started is still running.
    const pidFiles = findFiles(`${dir}/grading`, "spawned-pids.txt");
    assert.equal(pidFiles.length, 2, "many-processes and daemonizes wrote their pids");
    const pids = pidFiles.flatMap((f) => Deno.readTextFileSync(f).split("\n").map(Number));
    assert.equal(pids.length, 21);
    assert.ok(pids.every((pid) => pid > 0), "every process was started");
    const survivors = pids.filter(alive);
    assert.deepEqual(survivors, [], "processes left running");

    // Nothing was written outside the scratch folders.
    assert.deepEqual(findFiles(dir, "PWNED*"), []);
    for (
      const overlay of [...Deno.readDirSync(`${dir}/grading`)].flatMap((run) =>
        [...Deno.readDirSync(`${dir}/grading/${run.name}`)].filter((o) => o.isDirectory)
          .map((o) => `${dir}/grading/${run.name}/${o.name}`)
      )
    ) {
      for (const file of ["labs/00_hello_mapping/checker/check.ts", "lib/checker/harness.ts"]) {
        assert.equal(
          Deno.readTextFileSync(`${overlay}/${file}`),
          Deno.readTextFileSync(`${PROJECT_ROOT}/${file}`),
          `${overlay}/${file} changed`,
        );
      }
    }

    // The summary: per-check pass rates among the students who attempted the lab (not the
    // untouched stub, not the symbolic link that was not submitted).
    const summary = summarize(report);
    assert.equal(summary.students, names.length);
    const runs = summary.checks.find((c) => c.id === "runs")!;
    const tried = report.students.filter((s) => attempted(s.labs[0]));
    assert.deepEqual(
      report.students.filter((s) => !attempted(s.labs[0])).map((s) => s.name).sort(),
      ["symlinked", "untouched"],
    );
    const passedRuns = tried.filter((s) => s.labs[0].checks[0].status === "passed");
    assert.equal(runs.passed, passedRuns.length);
    assert.equal(runs.total, tried.length);
  } finally {
    removeDir(dir);
  }
});

Deno.test("grader: the time budget stops a hanging class and says what was not graded", async () => {
  const dir = freshDir("budget");
  try {
    buildClass(`${dir}/submissions`, ["infinite-loop", "partial"]);
    const start = performance.now();
    const report = await gradeSubmissions({
      submissions: listSubmissions(`${dir}/submissions`),
      labs: [LAB],
      jobs: 1,
      budgetMs: 1000,
      gradingRoot: `${dir}/grading`,
    });
    const seconds = (performance.now() - start) / 1000;
    assert.ok(seconds < 8, `took ${seconds} s`);
    for (const student of report.students) {
      const [grade] = student.labs;
      assert.equal(grade.score, 0, student.name);
      assert.ok(grade.checks.every((c) => c.internalError), student.name);
      assert.match(grade.checks[0].message, /not graded: the grading time budget \(1 s\) ran out/);
    }
    assert.equal(report.problems.length >= 2, true, report.problems.join("\n"));
    // Nothing left over.
    assert.deepEqual([...Deno.readDirSync(`${dir}/grading`)], []);
  } finally {
    removeDir(dir);
  }
});

Deno.test("grader: the perfect submission gets full marks on every lab that is complete", async () => {
  const dir = freshDir("perfect");
  try {
    writePerfect(`${dir}/submissions/perfect`);
    const complete = catalog.labs.filter((lab) =>
      ["checker/check.ts", "checker/drive.ts", lab.file].every((f) =>
        exists(`${PROJECT_ROOT}/labs/${lab.id}/${f}`)
      ) && exists(`${dir}/submissions/perfect/labs/${lab.id}/${lab.file}`)
    );
    assert.ok(complete.length >= 1);
    const report = await gradeSubmissions({
      submissions: listSubmissions(`${dir}/submissions`),
      labs: complete.map((l) => l.id),
      gradingRoot: `${dir}/grading`,
    });
    assert.deepEqual(report.problems, [], describe(report));
    // Which kernel graded what: the whole profile in the report, a line in every lab's grade.
    const kernel = kernelProfile(PROJECT_ROOT);
    assert.equal(report.kernel?.release, kernel.release);
    assert.equal(report.kernel?.zeroPage, kernel.zeroPage);
    for (const grade of report.students[0].labs) {
      assert.equal(grade.kernel, kernelLabel(kernel), grade.id);
      assert.equal(grade.score, grade.maxScore, `${grade.id}:\n${describe(report)}`);
      assert.ok(grade.maxScore > 0, grade.id);
      assert.equal(
        grade.file,
        `labs/${grade.id}/${catalog.labs.find((l) => l.id === grade.id)!.file}`,
      );
    }
  } finally {
    removeDir(dir);
  }
});

Deno.test("grader: hidden checks count in grading; an instructor tree of its own works", async () => {
  const dir = freshDir("hidden");
  try {
    // A small instructor tree: this project's lib/, one lab with a hidden check.
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
      `import { defineChecks } from "../../../lib/checker/check.ts";
export default defineChecks([
  { id: "loads", title: "the module loads", points: 1, stubMayPass: true,
    async run(ctx) { ctx.expectOk(await ctx.run("drive.ts")); } },
  { id: "secret", title: "the answer is 42", points: 2, hidden: true, parent: "loads",
    async run(ctx) {
      ctx.expectEqual(ctx.expectOk(await ctx.run("drive.ts")), 42, { what: "ANSWER" });
    } },
]);
`,
    );
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
    assert.equal(wrong.labs[0].checks[1].hidden, true);
    assert.equal(wrong.labs[0].checks[1].status, "failed");
  } finally {
    removeDir(dir);
  }
});
