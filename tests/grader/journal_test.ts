/**
 * The grading journal's parts: the instructor digest changes with what grades
 * depend on (and only that), a journal cut short by a kill reads back without
 * its torn line, a broken one is refused, and a header of another grading is
 * told apart, field by field.
 */

import assert from "node:assert/strict";
import {
  instructorDigest,
  Journal,
  type JournalHeader,
  journalMismatch,
  readJournal,
} from "../../lib/grader/journal.ts";
import type { StudentGrade } from "../../lib/grader/types.ts";
import { findLab, loadCatalog } from "../../lib/catalog.ts";
import { copyTree, freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";

const header: JournalHeader = {
  format: "mmap-lab-journal",
  version: 1,
  submissions: "/class",
  students: ["ada", "bob"],
  labs: ["00_hello_mapping"],
  update: false,
  instructor: "sha256:1",
  kernel: "6.1 x86_64",
  startedAt: "2026-01-01T00:00:00.000Z",
};

function student(name: string, score: number): StudentGrade {
  return { name, submission: `/class/${name}`, labs: [], score, maxScore: 5, notes: [] };
}

Deno.test("journal: the instructor digest follows lib/, labs.json and the graded labs only", () => {
  const dir = freshDir("journal-digest");
  try {
    const catalog = loadCatalog(PROJECT_ROOT);
    const [lab0, lab1] = [findLab(catalog, "0")!, findLab(catalog, "1")!];
    copyTree(`${PROJECT_ROOT}/lib`, `${dir}/lib`);
    Deno.mkdirSync(`${dir}/labs`);
    Deno.copyFileSync(`${PROJECT_ROOT}/labs/labs.json`, `${dir}/labs/labs.json`);
    for (const lab of [lab0, lab1]) {
      copyTree(`${PROJECT_ROOT}/labs/${lab.id}`, `${dir}/labs/${lab.id}`);
    }
    const digest = instructorDigest(dir, [lab0]);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(instructorDigest(PROJECT_ROOT, [lab0]), digest, "same files, same digest");

    Deno.writeTextFileSync(`${dir}/labs/${lab1.id}/checker/check.ts`, "// another lab\n", {
      append: true,
    });
    Deno.writeTextFileSync(`${dir}/lib/.notes`, "hidden files are not copied to overlays\n");
    assert.equal(instructorDigest(dir, [lab0]), digest, "a lab not graded, a hidden file");

    for (
      const file of [`labs/${lab0.id}/checker/check.ts`, "labs/labs.json", "lib/checker/run.ts"]
    ) {
      const text = Deno.readTextFileSync(`${dir}/${file}`);
      Deno.writeTextFileSync(`${dir}/${file}`, text + "\n");
      assert.notEqual(instructorDigest(dir, [lab0]), digest, file);
      Deno.writeTextFileSync(`${dir}/${file}`, text);
    }
    assert.equal(instructorDigest(dir, [lab0]), digest);
  } finally {
    removeDir(dir);
  }
});

Deno.test("journal: appended students read back; a torn last line is dropped, a broken one refused", () => {
  const dir = freshDir("journal-read");
  try {
    const path = `${dir}/class.json.journal`;
    assert.equal(readJournal(path), undefined);
    const journal = Journal.start(path, header, [{
      name: "ada",
      files: "f1",
      student: student("ada", 1),
    }]);
    journal.append({ name: "bob", files: "f2", student: student("bob", 2) });
    journal.append({ name: "ada", files: "f3", student: student("ada", 3) }); // graded again
    journal.close();
    const read = readJournal(path)!;
    assert.deepEqual(read.header, header);
    assert.equal(read.torn, false);
    assert.deepEqual([...read.finished.keys()], ["ada", "bob"]);
    assert.equal(read.finished.get("ada")!.student.score, 3, "a later line wins");

    // SIGKILL in the middle of an append.
    Deno.writeTextFileSync(path, '{"name":"carl","files":"f4","stud', { append: true });
    const torn = readJournal(path)!;
    assert.equal(torn.torn, true);
    assert.deepEqual([...torn.finished.keys()], ["ada", "bob"]);

    // Resuming rewrites it whole: the torn line is gone.
    Journal.start(path, header, torn.finished.values()).close();
    assert.equal(readJournal(path)!.torn, false);
    assert.equal(Deno.readTextFileSync(path).split("\n").length, 4);

    Deno.writeTextFileSync(path, Deno.readTextFileSync(path).replace('"name":"bob"', '"name":bob'));
    assert.throws(() => readJournal(path), /line 3 is broken/);
    Deno.writeTextFileSync(path, '{"format":"mmap-lab-grades"}\n');
    assert.throws(() => readJournal(path), /not a grading journal/);

    Journal.start(path, header).remove();
    assert.equal(readJournal(path), undefined);
  } finally {
    removeDir(dir);
  }
});

Deno.test("journal: a header of another grading is told apart, field by field", () => {
  assert.deepEqual(journalMismatch(header, { ...header, startedAt: "later" }), []);
  const differences = journalMismatch(header, {
    ...header,
    submissions: "/other",
    students: ["bob", "cleo"],
    labs: ["00_hello_mapping", "01_first_mapping"],
    update: true,
    instructor: "sha256:2",
    kernel: "6.8 x86_64",
  });
  assert.deepEqual(differences, [
    "it is for the class folder /class, not /other",
    'the students differ (no longer here: "ada"; new: "cleo")',
    'the labs differ (journal: "00_hello_mapping"; now: "00_hello_mapping", "01_first_mapping")',
    "it was not an --update run",
    "the instructor's tree changed since (lib/, labs.json or a graded lab's folder)",
    "it was graded on another kernel (6.1 x86_64)",
  ]);
});
