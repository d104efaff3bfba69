/**
 * The shared type-check: several files in one `deno check`, each diagnostic
 * blamed on the file it names, and a run of its own for every file the
 * shared run cannot vouch for. Never a type error in the wrong file, never a
 * broken file called clean.
 */

import assert from "node:assert/strict";
import { PROJECT_ROOT } from "../../lib/catalog.ts";
import { attributeDiagnostics, TypeChecker } from "../../cli/typecheck.ts";
import { lab, makeProject } from "../helpers/project.ts";

const CLEAN = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
const TYPE_ERROR =
  'export function name(): number {\n  const n: number = "three";\n  return n;\n}\n';
const SYNTAX_ERROR = "export function broken(): number {\n  const x = ;\n  return x;\n}\n";

/** A folder of small files (no imports of lib/: fast to check), removed at the end. */
function scratch(files: Record<string, string>): { dir: string } & Disposable {
  const base = `${PROJECT_ROOT}/.mmap-lab/test-scratch`;
  Deno.mkdirSync(base, { recursive: true });
  const dir = Deno.makeTempDirSync({ dir: base, prefix: "typecheck-" });
  for (const [name, text] of Object.entries(files)) Deno.writeTextFileSync(`${dir}/${name}`, text);
  return { dir, [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }) };
}

const input = (dir: string, name: string) => ({ file: `${dir}/${name}`, digest: "v1" });

Deno.test("attributeDiagnostics: type errors go to the files they name; the rest are clean", () => {
  const output = [
    "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.",
    "    at file:///p/a.ts:2:9",
    "",
    "TS2345 [ERROR]: Argument of type 'string' is not assignable to parameter.",
    "    at file:///p/c%20d.ts:7:3",
    "",
    "Found 2 errors.",
    "",
    "error: Type checking failed.",
  ].join("\n");
  const { verdicts, unknown } = attributeDiagnostics(output, false, [
    "/p/a.ts",
    "/p/b.ts",
    "/p/c d.ts",
  ]);
  assert.deepEqual(unknown, []);
  assert.equal(verdicts.get("/p/a.ts")?.ok, false);
  assert.deepEqual(verdicts.get("/p/a.ts")?.errors.map((e) => e.code), ["TS2322"]);
  assert.equal(verdicts.get("/p/b.ts")?.ok, true);
  assert.deepEqual(verdicts.get("/p/c d.ts")?.errors.map((e) => e.code), ["TS2345"]);
});

Deno.test("attributeDiagnostics vouches for no file when a diagnostic names none, or another", () => {
  const files = ["/p/a.ts", "/p/b.ts"];
  const outside = "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n" +
    "    at file:///p/lib/x.ts:2:9\n\nerror: Type checking failed.";
  assert.deepEqual(attributeDiagnostics(outside, false, files).unknown, files);
  assert.equal(attributeDiagnostics(outside, false, files).verdicts.size, 0);
  const nowhere = "TS2307 [ERROR]: Cannot find module 'file:///p/gone.ts'.\n\n" +
    "error: Type checking failed.";
  assert.deepEqual(attributeDiagnostics(nowhere, false, files).unknown, files);
  assert.deepEqual(attributeDiagnostics("thread 'main' panicked", false, files).unknown, files);
});

Deno.test("attributeDiagnostics: a syntax error blames its file; the others are unknown", () => {
  const output = "error: SyntaxError: Expression expected\n    |\n2 |   const x = ;\n" +
    "    |             ~\n    at file:///p/b.ts:2:13";
  const { verdicts, unknown } = attributeDiagnostics(output, false, [
    "/p/a.ts",
    "/p/b.ts",
    "/p/c.ts",
  ]);
  assert.deepEqual([...verdicts.keys()], ["/p/b.ts"]);
  assert.equal(verdicts.get("/p/b.ts")?.ok, false);
  assert.match(verdicts.get("/p/b.ts")!.errors[0].message, /SyntaxError: Expression expected/);
  assert.deepEqual(unknown, ["/p/a.ts", "/p/c.ts"]);
});

Deno.test("two files in one compiler run: the type error in one, the other clean", async () => {
  using s = scratch({ "broken.ts": TYPE_ERROR, "clean.ts": CLEAN });
  const types = new TypeChecker(s.dir);
  await types.prefetch([input(s.dir, "broken.ts"), input(s.dir, "clean.ts")]);
  assert.equal(types.compilerRuns, 1, "one deno check for both");
  const broken = await types.check(`${s.dir}/broken.ts`, "v1");
  const clean = await types.check(`${s.dir}/clean.ts`, "v1");
  assert.equal(types.compilerRuns, 1, "each verdict came from the shared run");
  assert.equal(broken.ok, false);
  assert.deepEqual(
    broken.errors.map((e) => `${e.file}:${e.line} ${e.code}`),
    [`${s.dir}/broken.ts:2 TS2322`],
  );
  assert.equal(clean.ok, true);
  assert.deepEqual(clean.errors, []);
  // A new version of a file is checked again, alone.
  Deno.writeTextFileSync(`${s.dir}/broken.ts`, CLEAN);
  assert.equal((await types.check(`${s.dir}/broken.ts`, "v2")).ok, true);
  assert.equal(types.compilerRuns, 2);
});

Deno.test("a syntax error among several files: blamed on its file, the others checked again", async () => {
  using s = scratch({
    "a.ts": CLEAN,
    "b.ts": SYNTAX_ERROR,
    "c.ts": TYPE_ERROR,
    "d.ts": CLEAN,
  });
  const types = new TypeChecker(s.dir);
  const names = ["a.ts", "b.ts", "c.ts", "d.ts"];
  await types.prefetch(names.map((n) => input(s.dir, n)));
  const [a, b, c, d] = await Promise.all(names.map((n) => types.check(`${s.dir}/${n}`, "v1")));
  // The syntax error stops the compiler's graph: one run to find it, one more for the rest.
  assert.equal(types.compilerRuns, 2);
  assert.equal(b.ok, false);
  assert.equal(b.errors.length, 1);
  assert.equal(b.errors[0].file, `${s.dir}/b.ts`);
  assert.match(b.errors[0].message, /Expression expected/);
  assert.equal(c.ok, false, "the type error behind the syntax error is still found");
  assert.deepEqual(c.errors.map((e) => e.file), [`${s.dir}/c.ts`]);
  assert.equal(a.ok, true);
  assert.equal(d.ok, true);
});

Deno.test("two syntax errors: each file blamed for its own", async () => {
  using s = scratch({ "a.ts": SYNTAX_ERROR, "b.ts": CLEAN, "c.ts": SYNTAX_ERROR });
  const types = new TypeChecker(s.dir);
  const names = ["a.ts", "b.ts", "c.ts"];
  await types.prefetch(names.map((n) => input(s.dir, n)));
  const [a, b, c] = await Promise.all(names.map((n) => types.check(`${s.dir}/${n}`, "v1")));
  assert.deepEqual(a.errors.map((e) => e.file), [`${s.dir}/a.ts`]);
  assert.equal(b.ok, true);
  assert.deepEqual(c.errors.map((e) => e.file), [`${s.dir}/c.ts`]);
});

Deno.test("an error in a file outside the inputs: each input gets a run of its own", async () => {
  using s = scratch({
    "helper.ts": TYPE_ERROR,
    "uses_helper.ts": 'import { name } from "./helper.ts";\nexport const n: number = name();\n',
    "clean.ts": CLEAN,
  });
  const types = new TypeChecker(s.dir);
  await types.prefetch([input(s.dir, "uses_helper.ts"), input(s.dir, "clean.ts")]);
  const uses = await types.check(`${s.dir}/uses_helper.ts`, "v1");
  const clean = await types.check(`${s.dir}/clean.ts`, "v1");
  assert.equal(types.compilerRuns, 3, "the shared run, then one per file");
  // As a run of its own says: the error where it is, in the file it imports.
  assert.equal(uses.ok, false);
  assert.deepEqual(uses.errors.map((e) => e.file), [`${s.dir}/helper.ts`]);
  assert.equal(clean.ok, true);
});

Deno.test("a file that could sway the others (a global augmentation) is checked alone", async () => {
  using s = scratch({
    // Checked together, this would make the other file's error disappear.
    "augments.ts": "export {};\ndeclare global {\n  interface Uint8Array {\n" +
      "    set(text: string, offset: number): void;\n  }\n}\n",
    "sets.ts": 'export function f(): void {\n  new Uint8Array(4).set("text", 0);\n}\n',
    "imports_sets.ts": 'import { f } from "./sets.ts";\nexport const g = f;\n',
    "clean.ts": CLEAN,
  });
  const types = new TypeChecker(s.dir);
  const names = ["augments.ts", "sets.ts", "imports_sets.ts", "clean.ts"];
  await types.prefetch(names.map((n) => input(s.dir, n)));
  assert.equal(types.compilerRuns, 1, "sets.ts and clean.ts together");
  const [augments, sets, importsSets, clean] = await Promise.all(
    names.map((n) => types.check(`${s.dir}/${n}`, "v1")),
  );
  assert.equal(types.compilerRuns, 3, "the augmentation and the importer alone");
  assert.equal(augments.ok, true);
  assert.equal(sets.ok, false);
  assert.deepEqual(sets.errors.map((e) => `${e.file}:${e.line} ${e.code}`), [
    `${s.dir}/sets.ts:2 TS2345`,
  ]);
  // Alone, as before: its run includes the errors of the file it imports, where they are.
  assert.equal(importsSets.ok, false);
  assert.deepEqual(importsSets.errors.map((e) => e.file), [`${s.dir}/sets.ts`]);
  assert.equal(clean.ok, true);
});

Deno.test("check --all: one lab's type error is shown in that lab only", async () => {
  const dir = makeProject(["00_hello_mapping", "01_first_mapping"]);
  try {
    const file = `${dir}/labs/01_first_mapping/first_mapping.ts`;
    const text = Deno.readTextFileSync(file) + '\nexport const wrong: number = "text";\n';
    Deno.writeTextFileSync(file, text);
    const line = text.split("\n").findIndex((l) => l.includes('wrong: number = "text"')) + 1;
    Deno.copyFileSync(
      `${dir}/solutions/00_hello_mapping/hello.ts`,
      `${dir}/labs/00_hello_mapping/hello.ts`,
    );
    const r = await lab(dir, "check", "--all");
    assert.equal(r.code, 1, r.out);
    const [lab00, lab01] = r.out.split(/^(?=Lab 01 ·)/m);
    assert.match(lab00, /Lab 00 · .*3 of 3 checks passed/, r.out);
    assert.doesNotMatch(lab00, /type error|TS\d+/, r.out);
    assert.match(lab01, /type error: checks held back/, r.out);
    assert.match(lab01, new RegExp(`first_mapping\\.ts:${line}:\\d+  TS2322`), r.out);
    assert.match(r.out, /1 of 2 labs passed/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
