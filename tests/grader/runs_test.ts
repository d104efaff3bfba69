/**
 * Leftover run folders: those of a dead grader (or a reused pid), and those
 * without an owner for over a minute, are removed; a live run's, a kept one
 * and anything that is not a `run-*` folder stay.
 */

import assert from "node:assert/strict";
import {
  cleanLeftoverRuns,
  createRunDir,
  OWNER_FILE,
  type RunOwner,
} from "../../lib/grader/runs.ts";
import { statOf } from "../../lib/checker/proctable.ts";
import { freshDir, removeDir } from "./fixtures.ts";

async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("run folders: leftovers of dead graders are removed, live and kept ones stay", async () => {
  const dir = freshDir("runs");
  try {
    const root = `${dir}/grading`;
    const live = createRunDir(root, { keep: false });
    const owner: RunOwner = JSON.parse(Deno.readTextFileSync(`${live}/${OWNER_FILE}`));
    assert.equal(owner.pid, Deno.pid);
    assert.equal(owner.startTicks, statOf(Deno.pid)!.startTicks);
    const make = (name: string, owner?: Partial<RunOwner>) => {
      Deno.mkdirSync(`${root}/${name}/alice-x/lib`, { recursive: true });
      if (owner) {
        Deno.writeTextFileSync(
          `${root}/${name}/${OWNER_FILE}`,
          JSON.stringify({ startTicks: 0, keep: false, startedAt: "", ...owner }),
        );
      }
    };
    const dead = await deadPid();
    make("run-dead", { pid: dead, startTicks: 1 });
    make("run-reused", { pid: Deno.pid, startTicks: owner.startTicks + 1 }); // the pid was reused
    make("run-kept", { pid: dead, keep: true });
    make("run-ownerless");
    make("not-a-run", { pid: dead });

    assert.deepEqual(cleanLeftoverRuns(root).map((p) => p.slice(root.length + 1)).sort(), [
      "run-dead",
      "run-reused",
    ]);
    assert.deepEqual(
      names(root),
      ["not-a-run", live.slice(root.length + 1), "run-kept", "run-ownerless"].sort(),
    );

    // An owner-less folder is a leftover once it is over a minute old.
    assert.deepEqual(
      cleanLeftoverRuns(root, Date.now() + 120_000).map((p) => p.slice(root.length + 1)),
      [
        "run-ownerless",
      ],
    );
    assert.ok(names(root).includes(live.slice(root.length + 1)), "the live run stays");
  } finally {
    removeDir(dir);
  }
});
