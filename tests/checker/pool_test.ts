/** Children started ahead of their tasks (ChildPool in lib/checker/spawn.ts). */

import assert from "node:assert/strict";
import { ChildPool, spawnChild } from "../../lib/checker/spawn.ts";
import { ownChildren, statOf } from "../../lib/checker/proctable.ts";
import { PROJECT_ROOT, type Scratch, useScratch } from "../helpers/scratch.ts";

/** A drive that reports its pid, its parameters and a module-level counter of its student. */
const DRIVE = `export default (ctx: { params: unknown; student: { bump(): number } }) => ({
  pid: Deno.pid,
  params: ctx.params,
  count: ctx.student.bump(),
});
`;
/** A student module with state: a counter that lives as long as its process. */
const STUDENT = `let count = 0;
export function bump(): number { return ++count; }
`;

interface Reply {
  pid: number;
  params: unknown;
  count: number;
}

/** Spawn options for DRIVE and STUDENT, written in `scratch`. */
function spawnOptions(scratch: Scratch, drive = DRIVE, student = STUDENT) {
  const drivePath = scratch.file("drive.ts");
  Deno.writeTextFileSync(drivePath, drive);
  const studentPath = scratch.file("student.ts");
  Deno.writeTextFileSync(studentPath, student);
  return { drive: drivePath, student: studentPath, scratch: scratch.dir, readable: [PROJECT_ROOT] };
}

/** Whether a process is still there (not a zombie either). */
function alive(pid: number): boolean {
  const state = statOf(pid)?.state;
  return state !== undefined && state !== "Z";
}

Deno.test("pool: each task runs in a process of its own, started ahead, with its own parameters", async () => {
  using scratch = useScratch("pool-tasks");
  const options = spawnOptions(scratch);
  await using pool = new ChildPool();
  pool.prestart(options);
  assert.equal(pool.started, 1);
  const replies: Reply[] = [];
  for (let i = 0; i < 3; i++) {
    const result = await pool.spawn({ ...options, params: { round: i } }).result();
    assert.equal(result.outcome, "ok", `${result.outcome} ${result.stderr}`);
    replies.push(result.value as Reply);
  }
  // Every task was handed to a child started before it was asked for.
  assert.equal(pool.taken, 3);
  assert.deepEqual(replies.map((r) => r.params), [{ round: 0 }, { round: 1 }, { round: 2 }]);
  // Nothing of one task's process reaches the next: a fresh process, a fresh module.
  assert.equal(new Set(replies.map((r) => r.pid)).size, 3);
  assert.deepEqual(replies.map((r) => r.count), [1, 1, 1]);
});

Deno.test("pool: a task with another setup starts its own child; close() kills those waiting", async () => {
  using scratch = useScratch("pool-setups");
  const options = spawnOptions(scratch);
  const pool = new ChildPool();
  pool.prestart(options);
  // A longer time limit is another setup (another CPU limit): not the waiting child.
  const other = await pool.spawn({ ...options, timeoutMs: 20_000, params: 1 }).result();
  assert.equal(other.outcome, "ok", other.stderr);
  assert.equal(pool.taken, 0);
  // Now one waits for each setup.
  assert.equal(pool.started, 2);
  const waiting = (ownChildren() ?? []).filter((pid) => pid !== other.pid && alive(pid));
  assert.ok(waiting.length >= 2, `children waiting: ${waiting.join(", ")}`);
  await pool.close();
  for (const pid of waiting) assert.ok(!alive(pid), `child ${pid} still alive after close()`);
  // A closed pool still runs tasks, on fresh children.
  const late = await pool.spawn({ ...options, params: 2 }).result();
  assert.equal(late.outcome, "ok", late.stderr);
  assert.equal(pool.taken, 0);
});

Deno.test("pool: a child taken from the pool ends the same way as one started cold", async () => {
  using scratch = useScratch("pool-same");
  const drive = `export default (ctx: { params: string }) => {
      if (ctx.params === "throw") throw new RangeError("from the drive");
      if (ctx.params === "exit") Deno.exit(3);
      if (ctx.params === "hang") for (;;) {}
      return ctx.params;
    };
    `;
  const options = { ...spawnOptions(scratch, drive, "export {};\n"), timeoutMs: 3000 };
  await using pool = new ChildPool();
  pool.prestart(options);
  for (const params of ["ok", "throw", "exit", "hang"]) {
    const [pooled, cold] = [
      await pool.spawn({ ...options, params }).result(),
      await spawnChild({ ...options, params }).result(),
    ];
    assert.equal(pooled.outcome, cold.outcome, `${params}: ${pooled.stderr}`);
    assert.deepEqual(pooled.value, cold.value);
    assert.equal(pooled.error?.message, cold.error?.message);
    assert.equal(pooled.exitCode, cold.exitCode);
  }
  assert.equal(pool.taken, 4);
});

Deno.test("pool: no child is started ahead past the tasks expected", async () => {
  using scratch = useScratch("pool-expected");
  const options = spawnOptions(scratch);
  await using pool = new ChildPool(1, 2);
  pool.prestart(options);
  for (let i = 0; i < 3; i++) {
    const result = await pool.spawn({ ...options, params: i }).result();
    assert.equal(result.outcome, "ok", result.stderr);
  }
  // Two were started ahead (the first before any task, the second as the first was taken), and
  // taken; the third task started its own child, and none was left waiting.
  assert.equal(pool.started, 2);
  assert.equal(pool.taken, 2);
});
