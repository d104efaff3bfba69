/**
 * What the child isolation stops, measured one child at a time: processes a
 * student's code starts die with the child (its process group; and, with the
 * grader's "child subreaper", those that left the group), the parent's
 * environment never reaches the child, and the child dies with the checker
 * that started it (PR_SET_PDEATHSIG: measured to fail without it).
 */

import assert from "node:assert/strict";
import { findLab, loadCatalog } from "../../lib/catalog.ts";
import { adoptOrphans, type ChildResult, groupMembers } from "../../lib/checker/spawn.ts";
import { createOverlay, findSubmissionFiles } from "../../lib/grader/overlay.ts";
import { toFileUrl } from "../../lib/paths.ts";
import { alive, FIXTURES, freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";
import { procStat, readProcText } from "../../lib/inspect.ts";

const LAB = "00_hello_mapping";
const lab = findLab(loadCatalog(PROJECT_ROOT), LAB)!;
type SpawnModule = typeof import("../../lib/checker/spawn.ts");

/** Runs lab 00's drive on a submission's hello.ts, in an overlay, like the grader. */
async function runSubmission(
  dir: string,
  submission: string,
): Promise<{ result: ChildResult; scratch: string }> {
  const { found } = findSubmissionFiles(submission, [lab]);
  assert.ok(found.has(LAB), `no hello.ts in ${submission}`);
  const overlay = createOverlay(PROJECT_ROOT, `${dir}/grading`, "student", found, [lab]);
  const { spawnChild }: SpawnModule = await import(
    toFileUrl(`${overlay.root}/lib/checker/spawn.ts`)
  );
  const scratch = Deno.makeTempDirSync({ dir: overlay.root, prefix: "scratch-" });
  const path = `${scratch}/message.txt`;
  Deno.writeTextFileSync(path, "..........");
  const child = spawnChild({
    drive: `${overlay.root}/labs/${LAB}/checker/drive.ts`,
    student: `${overlay.root}/labs/${LAB}/${lab.file}`,
    params: { path, message: "hello" },
    scratch,
    readable: [overlay.root],
  });
  // As ctx.run does: nobody inspects this child, so it passes its checkpoints.
  while (await child.checkpoint()) await child.resume();
  const result = await child.result();
  return { result, scratch };
}

function spawnedPids(scratch: string): number[] {
  return Deno.readTextFileSync(`${scratch}/spawned-pids.txt`).split("\n").map(Number);
}

Deno.test("isolation: 20 processes a student starts through FFI die with the child", async () => {
  const dir = freshDir("iso-many");
  try {
    const { result, scratch } = await runSubmission(dir, `${FIXTURES}/many-processes`);
    assert.equal(result.outcome, "ok", result.stderr);
    const pids = spawnedPids(scratch);
    assert.equal(pids.length, 20);
    assert.ok(pids.every((p) => p > 0));
    assert.equal(result.leftovers, 20, "the sweep found the 20 sleepers in the child's group");
    assert.deepEqual(pids.filter(alive), []);
    assert.deepEqual(groupMembers(result.pid), []);
    assert.ok(result.durationMs < 10_000, `${result.durationMs} ms: the sleepers held the pipes?`);
  } finally {
    removeDir(dir);
  }
});

Deno.test("isolation: a daemon (setsid) outlives a group kill, but not an adopting grader", async () => {
  const dir = freshDir("iso-daemon");
  try {
    // Without adoption: the process group kill cannot reach it.
    const first = await runSubmission(dir, `${FIXTURES}/daemonizes`);
    assert.equal(first.result.outcome, "ok", first.result.stderr);
    const [escaped] = spawnedPids(first.scratch);
    assert.ok(escaped > 0, "setsid was started");
    const survived = alive(escaped);
    if (survived) Deno.kill(escaped, "SIGKILL"); // ours: clean up
    assert.ok(survived, "measured: a setsid() daemon escapes the process group kill");

    // With adoption (what gradeSubmissions does): it is re-parented to us and killed.
    assert.equal(adoptOrphans(true), true);
    try {
      const second = await runSubmission(dir, `${FIXTURES}/daemonizes`);
      assert.equal(second.result.outcome, "ok", second.result.stderr);
      const [daemon] = spawnedPids(second.scratch);
      assert.ok(daemon > 0);
      assert.equal(alive(daemon), false, "the daemon was killed");
      assert.ok((second.result.leftovers ?? 0) >= 1);
    } finally {
      adoptOrphans(false);
    }
  } finally {
    removeDir(dir);
  }
});

Deno.test("isolation: the child sees none of the parent's environment", async () => {
  const dir = freshDir("iso-env");
  try {
    Deno.env.set("MMAP_LAB_TEST_SECRET", "do-not-leak");
    Deno.mkdirSync(`${dir}/submission`);
    // Reads the environment through libc, past Deno's --allow-env, into its scratch folder.
    Deno.writeTextFileSync(
      `${dir}/submission/hello.ts`,
      `const libc = Deno.dlopen("libc.so.6", { getenv: { parameters: ["buffer"], result: "pointer" } });
export function writeMessage(_path: string, _message: string): void {
  const seen: Record<string, string | null> = {};
  for (const name of ["MMAP_LAB_TEST_SECRET", "HOME", "PATH", "NO_COLOR"]) {
    const p = libc.symbols.getenv(new TextEncoder().encode(name + "\\0"));
    seen[name] = p ? Deno.UnsafePointerView.getCString(p) : null;
  }
  Deno.writeTextFileSync("env.json", JSON.stringify(seen));
}
`,
    );
    const { result, scratch } = await runSubmission(dir, `${dir}/submission`);
    assert.equal(result.outcome, "ok", result.stderr);
    const seen = JSON.parse(Deno.readTextFileSync(`${scratch}/env.json`));
    assert.equal(seen.MMAP_LAB_TEST_SECRET, null);
    assert.equal(seen.HOME, null);
    assert.notEqual(seen.PATH, Deno.env.get("PATH")); // Deno sets its own in the child
    assert.equal(seen.NO_COLOR, "1");
  } finally {
    Deno.env.delete("MMAP_LAB_TEST_SECRET");
    removeDir(dir);
  }
});

Deno.test("isolation: a child dies with the process that started it (PR_SET_PDEATHSIG)", async () => {
  const dir = freshDir("iso-orphan");
  try {
    Deno.writeTextFileSync(
      `${dir}/drive.ts`,
      "export default () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); };\n",
    );
    Deno.writeTextFileSync(`${dir}/student.ts`, "export {};\n");
    // A checker of its own: starts the child, says its pid, and waits.
    Deno.writeTextFileSync(
      `${dir}/checker.ts`,
      `import { spawnChild } from "${toFileUrl(`${PROJECT_ROOT}/lib/checker/spawn.ts`)}";
      const child = spawnChild({ drive: "${dir}/drive.ts", student: "${dir}/student.ts",
        scratch: "${dir}", readable: ["${dir}", "${PROJECT_ROOT}"], timeoutMs: 60_000 });
      await child.checkpoint(); // none: returns when the child ends
      `,
    );
    const checker = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", `${dir}/checker.ts`],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    // The child: the checker's one child process that runs the harness.
    let child = 0;
    for (let i = 0; i < 300 && !child; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      child = (ownChildrenOf(checker.pid) ?? []).find((pid) =>
        readCmdline(pid).includes("harness.ts")
      ) ?? 0;
    }
    assert.ok(child > 0, "the checker started no child");
    // Past the setsid and PR_SET_PDEATHSIG of the harness: its session is its own.
    for (let i = 0; i < 300 && procStat(child).session !== child; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    checker.kill("SIGKILL");
    await checker.status;
    for (let i = 0; i < 100 && alive(child); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const survived = alive(child);
    if (survived) Deno.kill(child, "SIGKILL");
    assert.equal(survived, false, "the child outlived its checker");
  } finally {
    removeDir(dir);
  }
});

function ownChildrenOf(pid: number): number[] | undefined {
  try {
    return readProcText(`/proc/${pid}/task/${pid}/children`).split(" ").filter(Boolean).map(
      Number,
    );
  } catch {
    return undefined;
  }
}

function readCmdline(pid: number): string {
  try {
    return readProcText(`/proc/${pid}/cmdline`);
  } catch {
    return "";
  }
}
