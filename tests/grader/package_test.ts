/**
 * `deno task grade package gradescope|autolab|prairielearn`: each package,
 * unpacked into a folder shaped like the platform's, grades the reference
 * solution of lab 00 to full marks with the platform's own entry point; an
 * incomplete package is refused; the archives open with the usual tools.
 */

import assert from "node:assert/strict";
import { freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import { task } from "./course.ts";
import { crc32, makeTar, makeZip, readZip } from "../../lib/grader/archive.ts";
import { verifyPackage } from "../../lib/grader/package.ts";
import { loadCatalog, solutionFile } from "../../lib/catalog.ts";

const lab0 = loadCatalog(PROJECT_ROOT).labs[0];
const SOLUTION = solutionFile(PROJECT_ROOT, lab0);

/** Writes the files of a zip under `dir`, with their modes. */
function unzipInto(zip: string, dir: string): string[] {
  const files = readZip(Deno.readFileSync(zip));
  for (const f of files) {
    const path = `${dir}/${f.path}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeFileSync(path, f.data, { mode: f.mode });
    Deno.chmodSync(path, f.mode);
  }
  return files.map((f) => f.path);
}

async function bash(
  script: string,
  cwd: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; out: string }> {
  const r = await new Deno.Command("bash", {
    args: [script, ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  const stdout = d.decode(r.stdout);
  return { code: r.code, stdout, out: `exit ${r.code}\n${stdout}\n${d.decode(r.stderr)}` };
}

Deno.test("package gradescope: /autograder/source from the zip grades the solution to full marks", async () => {
  const dir = freshDir("pkg-gradescope");
  try {
    const zip = `${dir}/autograder.zip`;
    const made = await task(
      PROJECT_ROOT,
      "grade",
      "package",
      "gradescope",
      "--lab",
      "0",
      "--out",
      zip,
    );
    assert.equal(made.code, 0, made.out);
    const ag = `${dir}/autograder`;
    const files = unzipInto(zip, `${ag}/source`);
    assert.ok(files.includes("setup.sh") && files.includes("run_autograder"));
    assert.ok(!files.some((f) => f.startsWith("solutions/") || f.endsWith(".mistake")));
    assert.ok(!files.some((f) => /^(tests|docs|grades|submissions)\//.test(f)));
    // setup.sh finds the pinned Deno here and installs nothing.
    const setup = await bash(`${ag}/source/setup.sh`, `${ag}/source`, {});
    assert.equal(setup.code, 0, setup.out);
    assert.match(setup.stdout, /Deno \d+\.\d+\.\d+ is installed/);
    Deno.mkdirSync(`${ag}/submission`);
    Deno.copyFileSync(SOLUTION, `${ag}/submission/${lab0.file}`);
    const run = await bash(`${ag}/source/run_autograder`, "/", { MMAP_LAB_AUTOGRADER: ag });
    assert.equal(run.code, 0, run.out);
    const results = JSON.parse(Deno.readTextFileSync(`${ag}/results/results.json`));
    assert.equal(results.score, 5, run.out);
    assert.ok(results.tests.length >= 3);
    assert.ok(results.tests.every((t: { status: string }) => t.status === "passed"));
  } finally {
    removeDir(dir);
  }
});

Deno.test("package autolab: make in a folder with autograde.tar and the handin prints the scores last", async () => {
  const dir = freshDir("pkg-autolab");
  try {
    const out = `${dir}/autolab`;
    const made = await task(
      PROJECT_ROOT,
      "grade",
      "package",
      "autolab",
      "--lab",
      "0",
      "--out",
      out,
    );
    assert.equal(made.code, 0, made.out);
    // As Autolab's Tango lays out a job: the Makefile, autograde.tar, the handin (a tar here).
    const job = `${dir}/job`;
    Deno.mkdirSync(job);
    Deno.copyFileSync(`${out}/autograde-Makefile`, `${job}/Makefile`);
    Deno.copyFileSync(`${out}/autograde.tar`, `${job}/autograde.tar`);
    Deno.writeFileSync(
      `${job}/handin.tar`,
      makeTar([{ path: `labs/${lab0.id}/${lab0.file}`, data: Deno.readFileSync(SOLUTION) }]),
    );
    const r = await new Deno.Command("make", {
      args: ["-s"],
      cwd: job,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    const last = stdout.trimEnd().split("\n").at(-1)!;
    assert.deepEqual(JSON.parse(last), { scores: { [lab0.id]: 5 }, scoreboard: [5, 5] }, stdout);
  } finally {
    removeDir(dir);
  }
});

Deno.test("package prairielearn: /grade from the course repository grades the solution, score 1", async () => {
  const dir = freshDir("pkg-prairielearn");
  try {
    const zip = `${dir}/prairielearn.zip`;
    const made = await task(
      PROJECT_ROOT,
      "grade",
      "package",
      "prairielearn",
      "--lab",
      "0,1",
      "--out",
      zip,
    );
    assert.equal(made.code, 0, made.out);
    const course = `${dir}/course`;
    unzipInto(zip, course);
    const info = JSON.parse(
      Deno.readTextFileSync(`${course}/questions/mmap-lab/${lab0.id}/info.json`),
    );
    assert.equal(info.gradingMethod, "External");
    assert.equal(info.externalGradingOptions.entrypoint, "/grade/tests/run.sh");
    // PrairieLearn's container: serverFilesCourse and the question's tests under /grade.
    const grade = `${dir}/grade`;
    unzipInto(zip, `${dir}/again`);
    Deno.mkdirSync(grade);
    Deno.renameSync(`${dir}/again/serverFilesCourse`, `${grade}/serverFilesCourse`);
    Deno.renameSync(`${dir}/again/questions/mmap-lab/${lab0.id}/tests`, `${grade}/tests`);
    Deno.mkdirSync(`${grade}/student`);
    Deno.copyFileSync(SOLUTION, `${grade}/student/${lab0.file}`);
    const run = await bash(`${grade}/tests/run.sh`, "/", { MMAP_LAB_GRADE_ROOT: grade });
    assert.equal(run.code, 0, run.out);
    const results = JSON.parse(Deno.readTextFileSync(`${grade}/results/results.json`));
    assert.equal(results.gradable, true);
    assert.equal(results.score, 1);
    for (const t of results.tests) {
      assert.equal(typeof t.name, "string");
      assert.equal(t.points, t.max_points);
    }
  } finally {
    removeDir(dir);
  }
});

Deno.test("package: refused when incomplete; per-lab zips; usage errors", async () => {
  const labs = loadCatalog(PROJECT_ROOT).labs.slice(0, 1);
  // The 513-byte zip of the issue: only the two scripts.
  const scripts = [
    { path: "setup.sh", mode: 0o755 },
    { path: "run_autograder", mode: 0o755 },
  ];
  const problems = verifyPackage("gradescope", scripts, labs, false);
  assert.ok(problems.some((p) => /no cli\/grade\.ts/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /no labs\/00_hello_mapping\/checker\/check\.ts/.test(p)));
  assert.ok(
    verifyPackage("gradescope", [{ path: "run_autograder", mode: 0o644 }], labs, false)
      .some((p) => /run_autograder is not executable/.test(p)),
  );
  assert.ok(
    verifyPackage("gradescope", [{ path: "solutions/00_hello_mapping/hello.ts" }], labs, false)
      .some((p) => /a solution or mistake/.test(p)),
  );

  const dir = freshDir("pkg-per-lab");
  try {
    const made = await task(
      PROJECT_ROOT,
      "grade",
      "package",
      "gradescope",
      "--per-lab",
      "--lab",
      "0,1",
      "--out",
      dir,
    );
    assert.equal(made.code, 0, made.out);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["gradescope-00_hello_mapping.zip", "gradescope-01_first_mapping.zip"]);
    const run = readZip(Deno.readFileSync(`${dir}/gradescope-01_first_mapping.zip`))
      .find((f) => f.path === "run_autograder")!;
    assert.match(new TextDecoder().decode(run.data), /--gradescope .*--lab 01_first_mapping\n/);
  } finally {
    removeDir(dir);
  }
  for (
    const args of [[], ["moodle"], ["gradescope", "--lab", "99"], ["autolab", "--selftest"], [
      "prairielearn",
      "--per-lab",
    ], ["gradescope", "--out", "x.tar"]]
  ) {
    const r = await task(PROJECT_ROOT, "grade", "package", ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.out}`);
  }
});

Deno.test("archives: CRC-32, stored ZIP and ustar read by the usual tools", async () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  const data = new Uint8Array(70_000).map((_, i) => (i * 7919) % 251);
  const zip = makeZip([
    { path: "run_autograder", data: new TextEncoder().encode("#!/bin/sh\necho hi\n"), mode: 0o755 },
    { path: "a/é/b.bin", data },
  ]);
  const back = readZip(zip);
  assert.deepEqual(back.map((f) => [f.path, f.mode]), [["run_autograder", 0o755], [
    "a/é/b.bin",
    0o644,
  ]]);
  assert.deepEqual(back[1].data, data);
  const damaged = zip.slice();
  damaged[30 + "run_autograder".length + 2] ^= 1; // inside the first file's data
  assert.throws(() => readZip(damaged), /CRC-32/);
  assert.throws(() => makeZip([{ path: "../x", data }]), /not a safe path/);
  assert.throws(() => makeZip([{ path: "x", data }, { path: "x", data }]), /twice/);

  const dir = freshDir("archives");
  try {
    Deno.writeFileSync(`${dir}/a.zip`, zip);
    const long = `mmap-lab/${"d".repeat(90)}/${"f".repeat(90)}.ts`;
    Deno.writeFileSync(
      `${dir}/a.tar`,
      makeTar([{ path: "x/run", data: new Uint8Array([35, 33]), mode: 0o755 }, {
        path: long,
        data,
      }]),
    );
    const tools: [string, string[]][] = [
      ["unzip", ["-q", "a.zip", "-d", "z"]],
      ["tar", ["xf", "a.tar", "-C", "t"]],
    ];
    Deno.mkdirSync(`${dir}/t`);
    for (const [tool, args] of tools) {
      let r: Deno.CommandOutput;
      try {
        r = await new Deno.Command(tool, { args, cwd: dir, stdout: "null", stderr: "piped" })
          .output();
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue; // not installed here
        throw err;
      }
      assert.ok(r.success, `${tool}: ${new TextDecoder().decode(r.stderr)}`);
    }
    for (
      const [path, expected, mode] of [
        [`${dir}/z/a/é/b.bin`, data, 0o644],
        [`${dir}/z/run_autograder`, undefined, 0o755],
        [`${dir}/t/${long}`, data, 0o644],
        [`${dir}/t/x/run`, undefined, 0o755],
      ] as const
    ) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(path);
      } catch {
        continue; // its tool is not installed
      }
      assert.equal((info.mode ?? 0) & 0o777, mode, path);
      if (expected) assert.deepEqual(Deno.readFileSync(path), expected);
    }
  } finally {
    removeDir(dir);
  }
});
