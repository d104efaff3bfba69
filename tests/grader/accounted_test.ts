/**
 * Every entry of a class folder is accounted for: hidden folders (`..x`,
 * `...`), a file at the top level, a symbolic link to a folder, and two
 * Unicode spellings (NFC, NFD) of one name each get a row saying why they
 * were not graded — in the report, the table, the CSV — and never count in
 * the class statistics; tool litter (`.git`, `__MACOSX`) is ignored.
 */

import assert from "node:assert/strict";
import {
  gradeSubmissions,
  listSubmissions,
  mergeReports,
  pickSubmissions,
} from "../../lib/grader/batch.ts";
import { formatCsv, formatSummary, formatTable } from "../../lib/grader/formats.ts";
import { summarize } from "../../lib/grader/summary.ts";
import { FIXTURES, freshDir, PROJECT_ROOT, removeDir, symlink } from "./fixtures.ts";

const NFC = "Jos\u00e9";
const NFD = "Jose\u0301";

function makeClass(dir: string): void {
  const stub = `${PROJECT_ROOT}/labs/00_hello_mapping/hello.ts`;
  for (const name of ["alice", "..hidden", "...", NFC, NFD, ".git", "__MACOSX"]) {
    Deno.mkdirSync(`${dir}/${name}`, { recursive: true });
    Deno.copyFileSync(stub, `${dir}/${name}/hello.ts`);
  }
  // Alice attempted it (an unchanged stub would be "not attempted", 0 points): 3 of 5.
  Deno.copyFileSync(`${FIXTURES}/partial/00_hello_mapping/hello.ts`, `${dir}/alice/hello.ts`);
  Deno.copyFileSync(stub, `${dir}/carol.ts`);
  Deno.writeTextFileSync(`${dir}/.DS_Store`, "");
  symlink(`${dir}/alice`, `${dir}/dave`);
}

Deno.test("class folder: every entry that is not graded gets a row with the reason", async () => {
  const dir = freshDir("accounted");
  try {
    const subs = `${dir}/submissions`;
    makeClass(subs);
    const list = listSubmissions(subs);
    const reasons = Object.fromEntries(list.map((s) => [s.name, s.rejected ?? "graded"]));
    assert.deepEqual(
      Object.keys(reasons).sort(),
      ["...", "..hidden", "alice", "carol.ts", "dave", NFC].sort(),
    );
    assert.equal(reasons["alice"], "graded");
    assert.match(reasons["..hidden"], /a hidden folder \(its name starts with a dot\)/);
    assert.match(reasons["..."], /a hidden folder/);
    assert.match(reasons["carol.ts"], /a file, not a folder: each submission is a folder/);
    assert.match(reasons["dave"], /a symbolic link to .*\/alice, not a folder/);
    assert.ok(
      reasons[NFC].startsWith(
        `2 entries spell this name in different Unicode forms: "${NFC}" (NFC, 5 bytes) and "${NFD}" (NFD, 6 bytes): one student?`,
      ),
      reasons[NFC],
    );
    // --student finds a name whichever way it is spelled.
    assert.deepEqual(pickSubmissions(list, [NFD]).map((s) => s.name), [NFC]);
    assert.throws(() => pickSubmissions(list, ["zoe"]), /no submission "zoe"/);

    let graded = 0;
    const report = await gradeSubmissions({
      submissions: list,
      labs: ["0"],
      gradingRoot: `${dir}/grading`,
      onProgress: (e) => e.kind === "done" && graded++,
    });
    assert.equal(graded, 1, "only alice is graded");
    assert.deepEqual(report.problems, []);
    for (const s of report.students) {
      if (s.name === "alice") {
        assert.equal(s.status, "graded");
        assert.equal(s.score, 3); // the partial solution
        continue;
      }
      assert.equal(s.status, "rejected", s.name);
      assert.equal(s.score, 0);
      assert.equal(s.maxScore, 5);
      assert.deepEqual(s.notes, [reasons[s.name]]);
      assert.equal(s.labs[0].status, "missing");
      assert.match(s.labs[0].checks[0].message, /^not graded: /);
    }

    // The class statistics are over graded students; the rest are counted apart.
    const summary = summarize(report);
    assert.equal(summary.students, 1);
    assert.equal(summary.rejected, 5);
    assert.equal(summary.points.mean, 3);
    assert.match(
      formatSummary(report),
      /1 student: mean 3 \/ 5, median 3 \(and 5 not graded: see the table\)/,
    );

    const table = formatTable(report).split("\n");
    assert.match(table.find((l) => l.startsWith("carol.ts"))!, /^carol\.ts\s+-\s+-$/);
    assert.match(table.find((l) => l.startsWith("alice"))!, /^alice\s+3\s+3$/);
    const notGraded = table.indexOf("Not graded (5):");
    assert.ok(notGraded > 0, table.join("\n"));
    assert.match(table[notGraded + 1], /^ {2}\.\.\.: a hidden folder/);
    assert.ok(table.some((l) => /^ {2}dave: a symbolic link/.test(l)));

    const csv = formatCsv(report).split("\n");
    assert.equal(csv[0], "student,00_hello_mapping,total,max,status,notes");
    assert.match(
      csv.find((l) => l.startsWith("carol.ts"))!,
      /^carol\.ts,,,5,rejected,"a file, not a folder: each submission is a folder \(unpack an archive into one\)"$/,
    );
    assert.match(csv.find((l) => l.startsWith("alice"))!, /^alice,3,3,5,graded,$/);

    // A rejected student fixed later: --update replaces the reason, it does not pile up.
    const fixed = mergeReports(report, {
      ...report,
      students: [{ ...report.students.find((s) => s.name === "alice")!, name: "carol.ts" }],
    });
    const carol = fixed.students.find((s) => s.name === "carol.ts")!;
    assert.equal(carol.status, "graded");
    assert.deepEqual(carol.notes, []);
  } finally {
    removeDir(dir);
  }
});
