/**
 * Crash safety of `deno task grade`, end to end: the grader is killed with
 * SIGKILL at several points of a class grading (the journal holding 0 … n
 * finished students), then `--resume` must give exactly the grades of a clean
 * run; the grades file of the run before is never left cut short; a journal
 * of another grading is refused; `--update` refuses a broken grades file
 * before grading anything.
 */

import assert from "node:assert/strict";
import { buildClass, freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import type { GradeReport } from "../../lib/grader/types.ts";
import { OWNER_FILE } from "../../lib/grader/runs.ts";

const STUDENTS = ["fake-output", "partial", "perfect", "untouched"];
const decoder = new TextDecoder();

function command(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=grade", "cli/grade.ts", ...args],
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function grade(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await command(args).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function lineCount(path: string): number {
  try {
    return Deno.readTextFileSync(path).split("\n").length - 1;
  } catch {
    return -1; // not there yet
  }
}

/**
 * The grades of a report: every student's points, lab and check statuses,
 * notes, and the problems (messages quote random per-run words and paths).
 */
function grades(path: string): unknown {
  const report: GradeReport = JSON.parse(Deno.readTextFileSync(path));
  return {
    labs: report.labs,
    problems: report.problems,
    students: report.students.map((s) => ({
      name: s.name,
      score: s.score,
      maxScore: s.maxScore,
      notes: s.notes,
      labs: s.labs.map((g) => ({
        id: g.id,
        status: g.status,
        score: g.score,
        maxScore: g.maxScore,
        file: g.file,
        kernel: g.kernel,
        checks: g.checks.map((c) => [c.id, c.status, c.score, c.maxScore, c.hidden]),
      })),
    })),
  };
}

function readOrUndefined(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch {
    return undefined;
  }
}

/** The run folders whose owner file names `pid`. */
function runFoldersOf(pid: number): string[] {
  const root = `${PROJECT_ROOT}/.mmap-lab/grading`;
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch { /* none */ }
  return entries.filter((e) => {
    try {
      return JSON.parse(Deno.readTextFileSync(`${root}/${e.name}/${OWNER_FILE}`)).pid === pid;
    } catch {
      return false;
    }
  }).map((e) => e.name);
}

/** Starts the grader, kills it with SIGKILL once its journal holds `entries` students. */
async function killAfter(args: string[], journal: string, entries: number): Promise<number> {
  const child = command(args).spawn();
  const deadline = Date.now() + 60_000;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  while (!exited && lineCount(journal) < entries + 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  if (!exited) child.kill("SIGKILL");
  await status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  return child.pid;
}

Deno.test("grade: kill -9 at any point of a class, then --resume, gives the grades of a clean run", async () => {
  const dir = freshDir("resume");
  try {
    const subs = `${dir}/submissions`;
    buildClass(subs, STUDENTS);
    const base = [subs, "--lab", "0", "--jobs", "1", "--quiet"];
    const clean = await grade([...base, "--json", `${dir}/clean/class.json`]);
    assert.equal(clean.code, 0, clean.stderr);
    const want = grades(`${dir}/clean/class.json`);
    assert.equal(
      lineCount(`${dir}/clean/class.json.journal`),
      -1,
      "a finished run leaves no journal",
    );

    const json = `${dir}/out/class.json`;
    const journal = `${json}.journal`;
    const args = [...base, "--json", json, "--csv", `${dir}/out/class.csv`];
    for (let entries = 0; entries <= STUDENTS.length; entries++) {
      const before = readOrUndefined(json);
      const pid = await killAfter(args, journal, entries);
      // The grades file of the run before is whole: the old one, or (killed late) the new one.
      const after = readOrUndefined(json);
      if (after && before && !after.every((b, i) => b === before[i])) {
        assert.deepEqual(grades(json), want, `killed after ${entries}: a new file, but whole`);
      } else assert.deepEqual(after, before, `killed after ${entries}`);

      const resumed = await grade([...args, "--resume"]);
      assert.equal(resumed.code, 0, `killed after ${entries}:\n${resumed.stderr}`);
      const resuming = resumed.stderr.match(/resuming from .*: (\d+) of 4 students already graded/);
      if (resuming) assert.ok(Number(resuming[1]) >= entries, resumed.stderr);
      else assert.equal(entries, STUDENTS.length, `the journal was not found:\n${resumed.stderr}`);
      assert.deepEqual(grades(json), want, `killed after ${entries} students`);
      assert.equal(lineCount(journal), -1, "the journal is removed once the grades are written");
      assert.deepEqual(runFoldersOf(pid), [], "the killed grader's run folder was cleaned");
    }
  } finally {
    removeDir(dir);
  }
});

Deno.test("grade --resume: changed files are graded again; another grading's journal is refused", async () => {
  const dir = freshDir("resume-check");
  try {
    const subs = `${dir}/submissions`;
    buildClass(subs, STUDENTS);
    const json = `${dir}/out/class.json`;
    const journal = `${json}.journal`;
    const args = [subs, "--lab", "0", "--jobs", "1", "--quiet", "--json", json];
    await killAfter(args, journal, 2); // fake-output and partial are in the journal
    const kept = Deno.readTextFileSync(journal);

    for (
      const [other, pattern] of [
        [["--lab", "0,1"], /the labs differ/],
        [["--student", "perfect"], /the students differ \(no longer here: "fake-output"/],
        [["--update"], /it was not an --update run/],
      ] as const
    ) {
      const run = await grade([...args, ...other, "--resume"]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /cannot --resume: .*class\.json\.journal belongs to another grading/,
      );
      assert.match(run.stderr, pattern);
      assert.equal(Deno.readTextFileSync(journal), kept, "a refused journal is left as it was");
    }

    // partial hands in the solution after the kill: its journal entry no longer counts.
    Deno.copyFileSync(
      `${PROJECT_ROOT}/solutions/00_hello_mapping/hello.ts`,
      `${subs}/partial/00_hello_mapping/hello.ts`,
    );
    const resumed = await grade([...args.filter((a) => a !== "--quiet"), "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /2 of 4 students already graded/);
    assert.match(resumed.stderr, /\] partial 00_hello_mapping 5\/5/);
    assert.doesNotMatch(resumed.stderr, /\] fake-output /);
    assert.match(resumed.stderr, /\(1 taken from the journal\)/);
    const report: GradeReport = JSON.parse(Deno.readTextFileSync(json));
    assert.deepEqual(
      Object.fromEntries(report.students.map((s) => [s.name, s.score])),
      { "fake-output": 0, "partial": 5, "perfect": 5, "untouched": 0 },
    );
  } finally {
    removeDir(dir);
  }
});

Deno.test("grade --update: a broken grades file is refused before anything is graded", async () => {
  const dir = freshDir("update-check");
  try {
    const subs = `${dir}/submissions`;
    buildClass(subs, ["partial"]);
    const json = `${dir}/out/class.json`;
    Deno.mkdirSync(`${dir}/out`);
    const cases: [string, RegExp][] = [["", /is empty/], [
      '{"format": "mmap-lab-gr',
      /not valid JSON/,
    ]];
    for (const [content, pattern] of cases) {
      Deno.writeTextFileSync(json, content);
      const run = await grade([subs, "--lab", "0", "--json", json, "--update"]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, pattern);
      assert.match(run.stderr, /nothing was graded/);
      assert.doesNotMatch(run.stderr, /\[1\/1\]/, "nothing was graded");
      assert.equal(Deno.readTextFileSync(json), content, "the file is left as it was");
    }
  } finally {
    removeDir(dir);
  }
});
