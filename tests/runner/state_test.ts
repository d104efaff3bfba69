/**
 * Two runners on one project never lose each other's progress: every change
 * to the state file is merged under a lock and written atomically.
 */

import assert from "node:assert/strict";
import { lab, makeProject } from "../helpers/project.ts";
import { scratchDir } from "../helpers/scratch.ts";

const decoder = new TextDecoder();

Deno.test("updateState from four processes at once loses no change", async () => {
  const root = scratchDir("state-merge");
  try {
    const script = `${root}/bump.ts`;
    const state = new URL("../../cli/state.ts", import.meta.url).href;
    Deno.writeTextFileSync(
      script,
      `import { labState, loadState, updateState } from "${state}";
const [root, me] = Deno.args;
const mine = loadState(root);
for (let i = 0; i < 25; i++) {
  updateState(root, mine, (s) => {
    labState(s, "shared").hintsShown++;
    labState(s, me).score = i + 1;
  });
}
`,
    );
    const runs = ["a", "b", "c", "d"].map((me) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-q", `--allow-read=${root}`, `--allow-write=${root}`, script, root, me],
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    for (const r of await Promise.all(runs)) assert.ok(r.success, decoder.decode(r.stderr));
    const saved = JSON.parse(Deno.readTextFileSync(`${root}/.mmap-lab/state.json`));
    assert.equal(saved.labs.shared.hintsShown, 100, "every increment of every process is kept");
    for (const me of ["a", "b", "c", "d"]) assert.equal(saved.labs[me].score, 25);
    const leftovers = [...Deno.readDirSync(`${root}/.mmap-lab`)].filter((e) =>
      e.name.endsWith(".tmp")
    );
    assert.deepEqual(leftovers, [], "no temp file left behind");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("runner commands at once on one project never lose a passed lab or a hint", async () => {
  const dir = makeProject(["00_hello_mapping", "01_first_mapping"]);
  try {
    Deno.copyFileSync(
      `${dir}/solutions/00_hello_mapping/hello.ts`,
      `${dir}/labs/00_hello_mapping/hello.ts`,
    );
    const results = await Promise.all([
      lab(dir, "check", "0"),
      lab(dir, "check", "1"),
      lab(dir, "hint", "1"),
      lab(dir, "hint", "0"),
      lab(dir, "hint", "1"),
    ]);
    assert.equal(results[0].code, 0, results[0].out);
    const state = JSON.parse(Deno.readTextFileSync(`${dir}/.mmap-lab/state.json`));
    assert.equal(state.labs["00_hello_mapping"].passed, true, JSON.stringify(state));
    assert.equal(state.labs["00_hello_mapping"].hintsShown, 1);
    assert.equal(state.labs["01_first_mapping"].hintsShown, 2);
    assert.ok(state.labs["01_first_mapping"].checkedAt, "lab 01's check was recorded too");
    const list = await lab(dir, "list");
    assert.match(list.out, /00_hello_mapping\s+passed\s+5\/5/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
