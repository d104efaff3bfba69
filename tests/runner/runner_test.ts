/**
 * The checker framework and the runner stay alive and say the right thing
 * whatever the student's code does: segfault, SIGBUS, hang, flood, throw,
 * fail to parse. Lab 00 is the host lab; the fixtures replace its student file.
 */

import assert from "node:assert/strict";
import { findLab, loadCatalog } from "../../lib/catalog.ts";
import { type LabResult, runLab } from "../../lib/checker/run.ts";

const catalog = loadCatalog();
const lab = findLab(catalog, "00_hello_mapping")!;
const fixture = (name: string) =>
  decodeURIComponent(new URL(`./fixtures/${name}`, import.meta.url).pathname);

async function runWith(file: string): Promise<LabResult> {
  return await runLab(catalog, lab, { studentFile: file });
}

function firstCheck(result: LabResult) {
  const check = result.checks.find((c) => c.id === "runs");
  assert.ok(check);
  return check;
}

Deno.test("a segfaulting student is reported as SIGSEGV with a hint, and the rest is skipped", async () => {
  const result = await runWith(fixture("segfault.ts"));
  const check = firstCheck(result);
  assert.equal(check.status, "failed");
  // The fault address is not known: the hint lists what it could be, read-only memory among them.
  assert.match(
    check.message,
    /killed by SIGSEGV: .*nothing maps.*read-only or PROT_NONE.*guard page/,
  );
  assert.deepEqual(result.checks.slice(1).map((c) => c.status), ["skipped", "skipped"]);
  assert.match(result.checks[1].message, /^needs: runs$/);
  assert.equal(result.score, 0);
});

Deno.test("SIGBUS is reported by name with the ftruncate hint", async () => {
  const check = firstCheck(await runWith(fixture("sigbus.ts")));
  assert.equal(check.status, "failed");
  assert.match(check.message, /killed by SIGBUS: .*ftruncate/);
});

Deno.test("a hanging student is stopped at the time limit and reported as a time-out", async () => {
  const start = performance.now();
  const check = firstCheck(await runWith(fixture("hang.ts")));
  assert.equal(check.status, "failed");
  assert.match(
    check.message,
    /did not finish within its \d+(\.\d+)? s time limit: an endless loop/,
  );
  assert.ok(performance.now() - start < 20_000, "the time limit was not enforced");
});

Deno.test("flooded output is capped and fake result lines are ignored", async () => {
  const result = await runWith(fixture("flood.ts"));
  const check = firstCheck(result);
  // The drive's own result still arrives (the student's fake JSON does not count), and the file
  // was not written, so the lab fails on evidence.
  assert.equal(check.status, "passed");
  assert.equal(result.checks[1].status, "failed");
  assert.match(result.checks[1].details.observed ?? "", /^"\.+"$/);
});

Deno.test("a student's exception is reported with its type and message", async () => {
  const check = firstCheck(await runWith(fixture("throws.ts")));
  assert.equal(check.status, "failed");
  assert.match(check.message, /threw TypeError: cannot read properties of undefined/);
});

Deno.test("a file that does not parse is reported, not a runner crash", async () => {
  const dir = `${catalog.root}/.mmap-lab/test-scratch`;
  Deno.mkdirSync(dir, { recursive: true });
  const file = Deno.makeTempFileSync({ dir, suffix: ".ts" });
  try {
    Deno.writeTextFileSync(file, "export function writeMessage(p: string) {\n  const x = ;\n}\n");
    const check = firstCheck(await runWith(file));
    assert.equal(check.status, "failed");
    assert.match(check.message, /^your file does not load: .*(SyntaxError|Expression expected)/i);
    assert.match(check.details.mistake ?? "", /deno check/);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("a file that does not load fails once; the other root checks wait for it", async () => {
  const shared = findLab(catalog, "02_shared_mapping")!;
  const dir = `${catalog.root}/.mmap-lab/test-scratch`;
  Deno.mkdirSync(dir, { recursive: true });
  const file = Deno.makeTempFileSync({ dir, suffix: ".ts" });
  try {
    Deno.writeTextFileSync(file, "export function openTable(p: string) {\n  return (;\n}\n");
    const result = await runLab(catalog, shared, { studentFile: file });
    const roots = result.checks.filter((c) => c.message.startsWith("your file does not load"));
    assert.equal(roots.length, 1, "the load error is reported by exactly one check");
    const [failed] = roots;
    assert.equal(failed.status, "failed");
    const others = result.checks.filter((c) => c !== failed);
    assert.ok(others.length >= 2);
    assert.ok(
      others.some((c) => c.message === `needs: your file to load (see ${failed.id})`),
      JSON.stringify(others.map((c) => c.message)),
    );
    assert.ok(others.every((c) => c.status === "skipped" && c.message.startsWith("needs: ")));
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("top-level code that throws (even a non-string message) is reported, not a crash", async () => {
  const dir = `${catalog.root}/.mmap-lab/test-scratch`;
  Deno.mkdirSync(dir, { recursive: true });
  const file = Deno.makeTempFileSync({ dir, suffix: ".ts" });
  try {
    Deno.writeTextFileSync(
      file,
      "const e = new Error('x');\n(e as unknown as { message: unknown }).message = 42;\nthrow e;\n",
    );
    const check = firstCheck(await runWith(file));
    assert.equal(check.status, "failed");
    assert.equal(check.message, "your file threw as it was loaded: Error: 42");
    assert.match(check.details.mistake ?? "", /top level/);
    assert.doesNotMatch(check.details.mistake ?? "", /deno check/);
  } finally {
    Deno.removeSync(file);
  }
});
