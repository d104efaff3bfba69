/**
 * Grading as root (Gradescope's and Autolab's containers do): the children run as users of
 * their own. The fixtures that only this test grades (AS_ROOT_ONLY in fixtures.ts) try what
 * such a user must not do: write the instructor's files and grades, read the solutions and the
 * grader's environment, start processes until refused. Each gets exactly its honest part's
 * score, and the instructor's tree (a copy, made for the test) is left as it was. Run only as
 * root: as anyone else the grader does not switch users, and these submissions would succeed.
 */

import assert from "node:assert/strict";
import { gradeSubmissions, listSubmissions } from "../../lib/grader/batch.ts";
import {
  IsolationUnavailableError,
  reopenLeftover,
  startIsolation,
} from "../../lib/grader/isolation.ts";
import { idsInUse } from "../../lib/checker/proctable.ts";
import { getuid } from "../../lib/sys.ts";
import type { GradeReport } from "../../lib/grader/types.ts";
import {
  AS_ROOT_ONLY,
  buildClass,
  copyTree,
  freshDir,
  PROJECT_ROOT,
  removeDir,
  writePerfect,
} from "./fixtures.ts";

const LAB = "00_hello_mapping";
const asRoot = getuid() === 0;

/**
 * An instructor's tree of the test's own: lib/, labs/, lab 00's solution, a grades file. (Its
 * folder lets others pass, as the way to a project must for the children's users.)
 */
function instructorTree(dir: string): string {
  Deno.chmodSync(dir, 0o711);
  const root = `${dir}/instructor`;
  copyTree(`${PROJECT_ROOT}/lib`, `${root}/lib`);
  copyTree(`${PROJECT_ROOT}/labs`, `${root}/labs`);
  copyTree(`${PROJECT_ROOT}/solutions/${LAB}`, `${root}/solutions/${LAB}`);
  Deno.mkdirSync(`${root}/grades`);
  Deno.writeTextFileSync(`${root}/grades/class.json`, '{"format": "mmap-lab-grades"}\n');
  return root;
}

/** Every file's content and every entry's mode under `dir` (the grading folder aside). */
function snapshot(dir: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (path: string) => {
    const info = Deno.lstatSync(path);
    out.set(`${path} mode`, String((info.mode ?? 0) & 0o7777));
    if (info.isDirectory) {
      for (const e of Deno.readDirSync(path)) {
        if (`${path}/${e.name}` !== skip) walk(`${path}/${e.name}`);
      }
    } else if (info.isFile) {
      out.set(path, Deno.readTextFileSync(path));
    }
  };
  walk(dir);
  return out;
}

function stdoutOf(report: GradeReport, name: string): string {
  const student = report.students.find((s) => s.name === name);
  assert.ok(student, `no student ${name}`);
  return student.labs[0].checks[0].output?.stdout ?? "";
}

function childIdsAlive(): number[] {
  return [...idsInUse()].filter((id) => id >= 60000 && id < 65000);
}

Deno.test({
  name: "as root: writing the instructor's files, reading solutions and environment, a fork bomb",
  ignore: !asRoot,
  async fn() {
    const dir = freshDir("as-root");
    const secret = `do-not-leak-${crypto.randomUUID()}`;
    try {
      const root = instructorTree(dir);
      buildClass(`${dir}/class`, [...AS_ROOT_ONLY]);
      writePerfect(`${dir}/class/perfect`);
      const grading = `${root}/.mmap-lab/grading`;
      const before = snapshot(root, `${root}/.mmap-lab`);
      const classBefore = snapshot(`${dir}/class`, "");
      Deno.env.set("MMAP_LAB_TEST_SECRET", secret);
      const report = await gradeSubmissions({
        root,
        submissions: listSubmissions(`${dir}/class`),
        labs: [LAB],
        jobs: 2,
        // A bound the fork bomb reaches quickly: 64 threads and processes for a lab run's user.
        limits: { processHeadroom: 64 },
      });
      const text = report.students.map((s) =>
        `${s.name}: ${s.score} ${
          s.labs[0].checks.map((c) => `${c.id}=${c.status} ${c.message}`).join("; ")
        }`
      ).join("\n");
      assert.deepEqual(report.problems, [], text);
      const scores = Object.fromEntries(report.students.map((s) => [s.name, s.score]));
      // reads-solutions does nothing itself: runs passes, the file never holds the message.
      assert.deepEqual(scores, {
        "fork-bomb": 5,
        "perfect": 5,
        "reads-environment": 5,
        "reads-solutions": 1,
        "writes-instructor-files": 5,
      }, text);

      assert.match(stdoutOf(report, "writes-instructor-files"), /^wrote 0 of \d+\n/);
      assert.match(stdoutOf(report, "reads-solutions"), /^solution: none readable\n/);
      assert.match(
        stdoutOf(report, "reads-environment"),
        /^grader's environment: not readable \(EACCES\)\n/,
      );
      const bomb = /^started (\d+) processes; then posix_spawn returned (\d+)\n/.exec(
        stdoutOf(report, "fork-bomb"),
      );
      assert.ok(bomb, stdoutOf(report, "fork-bomb"));
      assert.ok(Number(bomb[1]) < 64, `${bomb[1]} processes started under a limit of 64`);
      assert.equal(Number(bomb[2]), 11, "EAGAIN: the process limit");
      assert.ok(!JSON.stringify(report).includes(secret), "the grader's environment leaked");

      // The instructor's tree and the class are as they were: content and modes.
      assert.deepEqual(snapshot(root, `${root}/.mmap-lab`), before);
      assert.deepEqual(snapshot(`${dir}/class`, ""), classBefore);
      assert.deepEqual([...Deno.readDirSync(grading)].filter((e) => e.name.startsWith("run-")), []);
      assert.deepEqual(childIdsAlive(), [], "processes of the children's users still run");
    } finally {
      Deno.env.delete("MMAP_LAB_TEST_SECRET");
      removeDir(dir);
    }
  },
});

Deno.test({
  name: "as root: the probe child is another user that reaches nothing of the instructor's",
  ignore: !asRoot,
  async fn() {
    const dir = freshDir("as-root-probe");
    try {
      const root = instructorTree(dir);
      const gradingRoot = `${root}/.mmap-lab/grading`;
      const runDir = `${gradingRoot}/run-probe`;
      Deno.mkdirSync(runDir, { recursive: true });
      Deno.mkdirSync(`${dir}/class/alice`, { recursive: true });
      const isolation = await startIsolation({
        root,
        gradingRoot,
        runDir,
        protect: [`${dir}/class/alice`],
      });
      assert.ok(isolation);
      try {
        const { probe } = isolation;
        const tried = Object.keys(probe.read);
        for (
          const path of [root, `${root}/solutions`, `${root}/grades`, `${root}/labs/labs.json`]
        ) {
          assert.ok(tried.includes(path), `${path} was not tried`);
        }
        for (const [what, result] of Object.entries({ ...probe.read, ...probe.write })) {
          assert.equal(result, "errno 13", `${what}: EACCES`); // not ENOENT: it is there
        }
        for (const result of Object.values(probe.create)) assert.equal(result, "errno 13");
        assert.deepEqual(Object.values(probe.scratch), ["ok"]);
        // Closed to others while grading: solutions/ has no bit for others; the way in only x.
        assert.equal((Deno.statSync(`${root}/solutions`).mode ?? 0) & 0o007, 0);
        assert.equal((Deno.statSync(root).mode ?? 0) & 0o007, 0o001);
      } finally {
        // As the next grading does for a grader killed before its end: from the run folder.
        reopenLeftover(runDir);
      }
      assert.equal((Deno.statSync(`${root}/solutions`).mode ?? 0) & 0o007, 0o005, "put back");
      assert.equal((Deno.statSync(root).mode ?? 0) & 0o007, 0o005, "put back");
    } finally {
      removeDir(dir);
    }
  },
});

Deno.test({
  name:
    "as root: a grading folder its users cannot reach is refused; --unsafe-as-root runs as root",
  ignore: !asRoot,
  async fn() {
    const dir = freshDir("as-root-refused");
    try {
      Deno.mkdirSync(`${dir}/class/who`, { recursive: true });
      Deno.writeTextFileSync(
        `${dir}/class/who/hello.ts`,
        `const lib = await import(new URL("../../lib/mod.ts", import.meta.url).href);
export function writeMessage(path: string, message: string): void {
  console.log(/^Uid:.*$/m.exec(lib.readProcText("/proc/self/status"))?.[0]);
  using mapping = lib.mapFile(path, { access: "readwrite" });
  mapping.bytes.set(new TextEncoder().encode(message), 0);
}
`,
      );
      // Outside the instructor's tree (the way through it is opened): a folder made 0700.
      const closed = Deno.makeTempDirSync({ dir: "/tmp", prefix: "mmap-lab-closed-" });
      await assert.rejects(
        () =>
          gradeSubmissions({
            submissions: listSubmissions(`${dir}/class`),
            labs: [LAB],
            gradingRoot: `${closed}/grading`,
          }),
        (err: unknown) =>
          err instanceof IsolationUnavailableError && /does not let others pass/.test(err.message),
      );
      // Nothing was graded, and the run folder was taken away again.
      assert.deepEqual([...Deno.readDirSync(`${closed}/grading`)], []);
      Deno.removeSync(closed, { recursive: true });

      const unsafe = await gradeSubmissions({
        submissions: listSubmissions(`${dir}/class`),
        labs: [LAB],
        gradingRoot: `${dir}/grading`,
        unsafeAsRoot: true,
      });
      assert.equal(unsafe.students[0].score, 5);
      assert.match(stdoutOf(unsafe, "who"), /^Uid:\s+0\s+0\s+0\s+0\n/);

      const isolated = await gradeSubmissions({
        submissions: listSubmissions(`${dir}/class`),
        labs: [LAB],
        gradingRoot: `${dir}/grading`,
        childIdBase: 61000,
      });
      assert.equal(isolated.students[0].score, 5);
      const uid = /^Uid:\s+(\d+)\s+\1\s+\1\s+\1\n/.exec(stdoutOf(isolated, "who"));
      assert.ok(uid, stdoutOf(isolated, "who"));
      assert.ok(Number(uid[1]) >= 61000 && Number(uid[1]) < 66000, uid[1]);
    } finally {
      removeDir(dir);
    }
  },
});
