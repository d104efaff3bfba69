/** The README stays true: its library example works when pasted, as a newcomer would, and its lab list is labs.json with each lab's points. */

import assert from "node:assert/strict";
import { PROJECT_ROOT } from "../lib/catalog.ts";
import { toFileUrl } from "../lib/paths.ts";

Deno.test("the README's example maps, writes, syncs and unmaps a file", async () => {
  const readme = Deno.readTextFileSync(`${PROJECT_ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("## The library"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "no ts example under ## The library");
  const dir = `${PROJECT_ROOT}/.mmap-lab/test-scratch`;
  Deno.mkdirSync(dir, { recursive: true });
  const work = Deno.makeTempDirSync({ dir, prefix: "readme-" });
  try {
    const script = `${work}/example.ts`;
    Deno.writeTextFileSync(
      script,
      code.replace("./lib/mod.ts", toFileUrl(`${PROJECT_ROOT}/lib/mod.ts`)),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-ffi", "--allow-read=.", "--allow-write=.", script],
      cwd: work,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.equal(text, '[ "file" ]\nHELLO, world\n\n');
    assert.deepEqual([...Deno.readDirSync(work)].map((e) => e.name), ["example.ts"]);
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
});

Deno.test("the README's lab list names every lab of labs.json, in order, with its points and the total", async () => {
  const { checkerFile, loadCatalog } = await import("../lib/catalog.ts");
  const catalog = loadCatalog(PROJECT_ROOT);
  const readme = Deno.readTextFileSync(`${PROJECT_ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("## The labs"), readme.indexOf("## For instructors"));
  const rows = [
    ...section.matchAll(/^\| \[(\d\d) [^\]]+\]\(labs\/([^/)]+)\/\) +\|[^|]+\| +(\d+) \|$/gm),
  ];
  let total = 0;
  const expected: string[] = [];
  for (const lab of catalog.labs) {
    const checks: { points: number }[] =
      (await import(toFileUrl(checkerFile(catalog.root, lab, "check.ts")))).default;
    const points = checks.reduce((sum, c) => sum + c.points, 0);
    total += points;
    expected.push(`${lab.id} ${points}`);
  }
  assert.deepEqual(rows.map((r) => `${r[2]} ${r[3]}`), expected);
  assert.ok(rows.every((r) => r[2].startsWith(r[1])), "each row's number is its lab's");
  assert.match(section, new RegExp(`, ${total} points\\.`));
});
