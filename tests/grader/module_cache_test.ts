/** The module cache the grader fills for a student's children (lib/grader/module_cache.ts). */

import assert from "node:assert/strict";
import { loadCatalog, solutionFile } from "../../lib/catalog.ts";
import { runLab } from "../../lib/checker/run.ts";
import { MODULE_CACHE_DIR, warmModuleCache } from "../../lib/grader/module_cache.ts";
import { createOverlay } from "../../lib/grader/overlay.ts";
import { freshDir, PROJECT_ROOT, removeDir } from "./fixtures.ts";

const catalog = loadCatalog(PROJECT_ROOT);
const lab00 = catalog.labs[0];
const lab01 = catalog.labs[1];

/** Every `.ts` module under `dir`, relative to `base`. */
function modules(dir: string, base: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.startsWith(".")) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...modules(path, base));
    else if (entry.name.endsWith(".ts")) found.push(path.slice(base.length));
  }
  return found.sort();
}

/** The modules the cache holds a transpiled copy of (paths inside the overlay), with mtimes. */
function cached(cache: string, overlay: string): Map<string, number> {
  const emitted = new Map<string, number>();
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (path.endsWith(".ts.js")) {
        emitted.set(
          path.slice(`${cache}/gen/file${overlay}`.length, -".js".length),
          Deno.statSync(path).mtime!.getTime(),
        );
      }
    }
  };
  walk(`${cache}/gen/file${overlay}`);
  return emitted;
}

function overlayWith(dir: string, files: Record<string, string>) {
  const found = new Map<string, { path: string; relative: string }>();
  for (const [id, text] of Object.entries(files)) {
    const lab = catalog.labs.find((l) => l.id === id)!;
    const path = `${dir}/submission/${lab.file}`;
    Deno.mkdirSync(`${dir}/submission`, { recursive: true });
    Deno.writeTextFileSync(path, text);
    found.set(id, { path, relative: lab.file });
  }
  return createOverlay(PROJECT_ROOT, `${dir}/run`, "student", found, [lab00, lab01]);
}

Deno.test("module cache: every module of the library and of the graded labs, transpiled", async () => {
  const dir = freshDir("module-cache");
  try {
    const overlay = overlayWith(dir, {
      [lab00.id]: Deno.readTextFileSync(solutionFile(PROJECT_ROOT, lab00)),
      [lab01.id]: Deno.readTextFileSync(solutionFile(PROJECT_ROOT, lab01)),
    });
    const cache = await warmModuleCache(overlay.root, [lab00, lab01]);
    assert.equal(cache, `${overlay.root}/${MODULE_CACHE_DIR}`);
    const want = [
      ...modules(`${overlay.root}/lib`, overlay.root),
      ...modules(`${overlay.root}/labs/${lab00.id}`, overlay.root),
      ...modules(`${overlay.root}/labs/${lab01.id}`, overlay.root),
    ].sort();
    assert.deepEqual([...cached(cache!, overlay.root).keys()].sort(), want);

    // The children of a lab run load every module from it, and write nothing to it.
    const before = cached(cache!, overlay.root);
    const result = await runLab(loadCatalog(overlay.root), lab00, {
      scratchRoot: `${overlay.root}/.mmap-lab/scratch`,
      moduleCache: cache,
    });
    assert.equal(result.score, result.maxScore, JSON.stringify(result.checks, null, 1));
    assert.deepEqual(cached(cache!, overlay.root), before);
    overlay.remove();
  } finally {
    removeDir(dir);
  }
});

Deno.test("module cache: a student's file that does not parse is left out, the rest is cached", async () => {
  const dir = freshDir("module-cache-broken");
  try {
    const overlay = overlayWith(dir, {
      [lab00.id]: "export function writeMessage( {\n",
      [lab01.id]: Deno.readTextFileSync(solutionFile(PROJECT_ROOT, lab01)),
    });
    const cache = await warmModuleCache(overlay.root, [lab00, lab01]);
    assert.ok(cache);
    const emitted = cached(cache, overlay.root);
    assert.ok(!emitted.has(`/labs/${lab00.id}/${lab00.file}`), "the broken file was cached");
    assert.ok(emitted.has(`/labs/${lab00.id}/checker/check.ts`), "lab 00's checker was left out");
    assert.ok(emitted.has(`/labs/${lab01.id}/${lab01.file}`), "lab 01's file was left out");
    assert.ok(emitted.has("/lib/checker/harness.ts"), "the harness was left out");

    // The child still reports the syntax error in the student's own file.
    const result = await runLab(loadCatalog(overlay.root), lab00, {
      scratchRoot: `${overlay.root}/.mmap-lab/scratch`,
      moduleCache: cache,
    });
    assert.equal(result.score, 0);
    assert.match(JSON.stringify(result.checks), /hello\.ts/);
    overlay.remove();
  } finally {
    removeDir(dir);
  }
});
