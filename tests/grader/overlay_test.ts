/** Finding a student's lab files in every submission layout, and the overlay made from them. */

import assert from "node:assert/strict";
import { loadCatalog } from "../../lib/catalog.ts";
import { createOverlay, findSubmissionFiles, safeName } from "../../lib/grader/overlay.ts";
import { freshDir, PROJECT_ROOT, removeDir, symlink } from "./fixtures.ts";

const catalog = loadCatalog(PROJECT_ROOT);
const lab00 = catalog.labs[0];
const lab01 = catalog.labs[1];

function write(path: string, text = "export {};\n"): void {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

Deno.test("overlay: a repo copy, a labs/ folder, <id>/ folders and flat files are all found", () => {
  const dir = freshDir("layouts");
  try {
    write(`${dir}/repo/labs/${lab00.id}/${lab00.file}`);
    write(`${dir}/repo/lib/mod.ts`); // the student's own lib/: never used
    write(`${dir}/byid/${lab00.id}/${lab00.file}`);
    write(`${dir}/byid/${lab01.id}/${lab01.file}`);
    write(`${dir}/flat/${lab00.file}`);
    write(`${dir}/flat/${lab01.file}`);
    write(`${dir}/zipped/mmap-lab-main/labs/${lab01.id}/${lab01.file}`);
    write(`${dir}/zipped/__MACOSX/junk`);
    const labs = [lab00, lab01];
    const rel = (name: string) =>
      Object.fromEntries(
        [...findSubmissionFiles(`${dir}/${name}`, labs).found].map(([id, f]) => [id, f.relative]),
      );
    assert.deepEqual(rel("repo"), { [lab00.id]: `labs/${lab00.id}/${lab00.file}` });
    assert.deepEqual(rel("byid"), {
      [lab00.id]: `${lab00.id}/${lab00.file}`,
      [lab01.id]: `${lab01.id}/${lab01.file}`,
    });
    assert.deepEqual(rel("flat"), { [lab00.id]: lab00.file, [lab01.id]: lab01.file });
    assert.deepEqual(rel("zipped"), {
      [lab01.id]: `mmap-lab-main/labs/${lab01.id}/${lab01.file}`,
    });
    assert.deepEqual(rel("nothing-here"), {});
  } finally {
    removeDir(dir);
  }
});

Deno.test("overlay: links, links through folders and huge files are rejected", () => {
  const dir = freshDir("reject");
  try {
    write(`${dir}/bob/${lab00.file}`, "// bob's work\n");
    Deno.mkdirSync(`${dir}/alice`);
    symlink(`../bob/${lab00.file}`, `${dir}/alice/${lab00.file}`);
    Deno.mkdirSync(`${dir}/carol`);
    symlink("../bob", `${dir}/carol/${lab00.id}`);
    write(`${dir}/dave/${lab00.file}`, "x".repeat(2 * 1024 * 1024));
    for (
      const [name, pattern] of [
        ["alice", /symbolic link/],
        ["carol", /outside the submission/],
        ["dave", /larger than/],
      ] as const
    ) {
      const { found, rejected } = findSubmissionFiles(`${dir}/${name}`, [lab00]);
      assert.equal(found.size, 0, name);
      assert.match(rejected.get(lab00.id) ?? "", pattern, name);
    }
  } finally {
    removeDir(dir);
  }
});

Deno.test("overlay: the instructor's lib/ and labs/, no solutions, only the student's lab file", () => {
  const dir = freshDir("overlay");
  try {
    write(`${dir}/sub/labs/${lab00.id}/${lab00.file}`, "// the student's answer\n");
    write(`${dir}/sub/labs/${lab00.id}/check.ts`, "export default [];\n");
    write(`${dir}/sub/labs/${lab00.id}/checker/check.ts`, "export default [];\n");
    write(`${dir}/sub/labs/${lab00.id}/checker/drive.ts`, "export default () => 0;\n");
    write(`${dir}/sub/labs/labs.json`, "{}");
    const { found } = findSubmissionFiles(`${dir}/sub`, catalog.labs);
    const overlay = createOverlay(PROJECT_ROOT, `${dir}/grading`, "a/b c", found, catalog.labs);
    try {
      assert.ok(overlay.root.startsWith(`${dir}/grading/a_b_c-`));
      const read = (p: string) => Deno.readTextFileSync(`${overlay.root}/${p}`);
      assert.equal(read(`labs/${lab00.id}/${lab00.file}`), "// the student's answer\n");
      // The checker/ folder is the instructor's; the submission's own is never read.
      for (const file of ["check.ts", "drive.ts"]) {
        assert.equal(
          read(`labs/${lab00.id}/checker/${file}`),
          Deno.readTextFileSync(`${PROJECT_ROOT}/labs/${lab00.id}/checker/${file}`),
        );
      }
      assert.throws(() => Deno.statSync(`${overlay.root}/labs/${lab00.id}/check.ts`));
      assert.equal(read("labs/labs.json"), Deno.readTextFileSync(`${PROJECT_ROOT}/labs/labs.json`));
      assert.equal(read("lib/mod.ts"), Deno.readTextFileSync(`${PROJECT_ROOT}/lib/mod.ts`));
      for (const absent of ["solutions", "tests", "cli", ".mmap-lab/grading"]) {
        assert.throws(() => Deno.statSync(`${overlay.root}/${absent}`), absent);
      }
    } finally {
      overlay.remove();
    }
    assert.throws(() => Deno.statSync(overlay.root));
  } finally {
    removeDir(dir);
  }
});

Deno.test("overlay: folder names are made safe", () => {
  assert.equal(safeName("../../etc"), "__.._etc"); // no slash, no leading dot
  assert.equal(safeName("Ana María"), "Ana_Mar_a");
  assert.equal(safeName(""), "_");
});
