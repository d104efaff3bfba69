/**
 * The shape of a lab folder (like rustlings' rule against unexpected files):
 * at the top of `labs/NN_slug/` the student sees the lesson, their one file
 * and the `checker/` folder, and nothing else but the modules their file
 * imports. Everything the checks use lives in `checker/`.
 */

import assert from "node:assert/strict";
import { type Catalog, checkerFile, labFile, type LabInfo, loadCatalog } from "../lib/catalog.ts";
import { fromFileUrl, toFileUrl } from "../lib/paths.ts";
import { useScratch } from "./helpers/scratch.ts";

const catalogs: Catalog[] = [
  loadCatalog(),
  loadCatalog(fromFileUrl(new URL("./fixtures/project", import.meta.url))),
];

/** Relative specifiers of a module's static imports and re-exports, and of `import("…")`. */
function relativeImports(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g),
    ...source.matchAll(/\bimport\s*["']([^"']+)["']/g),
    ...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]);
  return specifiers.filter((s) => s.startsWith("./") || s.startsWith("../"));
}

/**
 * The files at the top of the lab's folder that its student file imports,
 * directly or through one another.
 */
function stubModules(root: string, lab: LabInfo): Set<string> {
  const dir = `${root}/labs/${lab.id}`;
  const found = new Set<string>();
  const queue = [labFile(root, lab)];
  while (queue.length) {
    const file = queue.pop()!;
    for (const specifier of relativeImports(Deno.readTextFileSync(file))) {
      const path = fromFileUrl(new URL(specifier, toFileUrl(file)));
      if (!path.startsWith(`${dir}/`)) continue; // lib/, outside the folder
      const name = path.slice(dir.length + 1);
      if (name.includes("/") || name === lab.file || found.has(name)) continue;
      found.add(name);
      queue.push(path);
    }
  }
  return found;
}

for (const catalog of catalogs) {
  for (const lab of catalog.labs) {
    Deno.test(`${lab.id}: the folder holds README.md, ${lab.file}, checker/ and nothing else`, () => {
      const dir = `${catalog.root}/labs/${lab.id}`;
      const modules = stubModules(catalog.root, lab);
      const expected = new Set(["README.md", lab.file, "checker", ...modules]);
      // Hidden files (an editor's swap file) are not part of the lab.
      const entries = [...Deno.readDirSync(dir)].filter((e) => !e.name.startsWith("."));
      const unexpected = entries.map((e) => e.name).filter((name) => !expected.has(name)).sort();
      assert.deepEqual(
        unexpected,
        [],
        `labs/${lab.id}/ has files the student does not edit or import: ` +
          `move ${unexpected.join(", ")} to labs/${lab.id}/checker/`,
      );
      for (const name of ["README.md", lab.file, ...modules]) {
        assert.ok(entries.some((e) => e.name === name && e.isFile), `labs/${lab.id}/${name}`);
      }
      assert.ok(Deno.statSync(`${dir}/checker`).isDirectory, `labs/${lab.id}/checker/`);
    });

    Deno.test(`${lab.id}: checker/ holds check.ts, and show.ts exactly when labs.json says so`, () => {
      assert.ok(Deno.statSync(checkerFile(catalog.root, lab, "check.ts")).isFile);
      let show = false;
      try {
        show = Deno.statSync(checkerFile(catalog.root, lab, "show.ts")).isFile;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      assert.equal(show, lab.show ?? false, `"show" in labs.json for ${lab.id}`);
    });
  }
}

Deno.test("layout: the stub's relative imports are found, and what they import in turn", () => {
  assert.deepEqual(
    relativeImports(`
import { a } from "./format.ts";
import type { B } from "../../lib/mod.ts";
export { c } from './more.ts';
import "./side.ts";
const d = await import("./late.ts");
import { e } from "node:util";
`),
    ["./format.ts", "../../lib/mod.ts", "./more.ts", "./side.ts", "./late.ts"],
  );
  using scratch = useScratch("layout");
  const lab: LabInfo = { id: "99_x", title: "x", file: "stub.ts", goal: "g", hints: [] };
  const dir = `${scratch.dir}/labs/${lab.id}`;
  Deno.mkdirSync(`${dir}/checker`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/stub.ts`, `import { f } from "./format.ts";\n`);
  Deno.writeTextFileSync(`${dir}/format.ts`, `export * from "./more.ts";\n`);
  Deno.writeTextFileSync(`${dir}/more.ts`, `import "./checker/check.ts";\n`);
  assert.deepEqual([...stubModules(scratch.dir, lab)].sort(), ["format.ts", "more.ts"]);
});
