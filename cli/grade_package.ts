/**
 * `deno task grade package gradescope|autolab|prairielearn`: builds the
 * grading package for a platform from this tree, and checks it (see
 * docs/grading.md).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadCatalog, PROJECT_ROOT } from "../lib/catalog.ts";
import { selectLabs } from "../lib/grader/batch.ts";
import { makeZip, readZip } from "../lib/grader/archive.ts";
import {
  packageEntries,
  PackageError,
  type Platform,
  PLATFORMS,
  verifyPackage,
} from "../lib/grader/package.ts";
import { writeFileAtomic } from "../lib/grader/atomic.ts";
import { PINNED } from "./require_deno.ts";
import { resolvePath } from "./resolve.ts";
import type { LabInfo } from "../lib/catalog.ts";

const USAGE = `Usage: deno task grade package <platform> [--lab N …] [--per-lab] [--out PATH]
                                [--budget SECONDS] [--selftest]

Builds the grading package of this tree for a platform, and checks it:
  gradescope     a zip: setup.sh and run_autograder at its root, with the tree
                 (default grades/packages/gradescope.zip)
  autolab        a folder: autograde-Makefile, autograde.tar, a Dockerfile
                 (default grades/packages/autolab/)
  prairielearn   a zip to unpack at the root of the course repository: the
                 grader in serverFilesCourse/mmap-lab/, one question per lab,
                 the grader image's Dockerfile (default grades/packages/prairielearn.zip)

Options:
  --lab ID       grade only this lab: id, number or slug (repeatable, or 0,3,5)
  --per-lab      one package per lab (one assignment per lab), into the folder
                 --out names (default grades/packages/): gradescope-<lab>.zip, …
  --out PATH     where the package goes (a .zip file; for autolab a folder)
  --budget S     grading time budget per submission, in seconds (default 480
                 Gradescope, 240 Autolab, 540 PrairieLearn): keep it under the
                 platform's time limit
  --selftest     Gradescope: ship solutions/ and tests/wrong/ too; setup.sh runs
                 \`deno task grade selftest\` on the image and deletes them before
                 any submission is graded (its verdicts are in the build log)
  -h, --help     this help

The package never holds grades/, submissions/, or (without --selftest) a
solution or a mistake: student code runs in the same container.`;

class UsageError extends Error {}

async function build(
  platform: Platform,
  labs: LabInfo[],
  allLabs: boolean,
  out: string,
  options: { budget?: number; selftest: boolean },
): Promise<string> {
  const entries = await packageEntries({
    root: PROJECT_ROOT,
    platform,
    labs: allLabs ? undefined : labs.map((l) => l.id),
    denoVersion: PINNED,
    budgetSeconds: options.budget,
    selftest: options.selftest,
  });
  // What the platform will see: for Autolab, the tar's members too.
  let contents: { path: string; mode?: number }[] = entries;
  if (platform === "autolab") {
    const { treeEntries } = await import("../lib/grader/package.ts");
    contents = [
      ...entries,
      ...treeEntries(PROJECT_ROOT, { prefix: "mmap-lab/", selftest: options.selftest }),
    ];
  }
  const problems = verifyPackage(platform, contents, labs, options.selftest);
  if (problems.length) throw new PackageError(problems);
  const mkdirFor = (path: string) =>
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
  if (platform === "autolab") {
    Deno.mkdirSync(out, { recursive: true });
    for (const e of entries) {
      const path = `${out}/${e.path}`;
      mkdirFor(path);
      writeFileAtomic(path, e.data);
      Deno.chmodSync(path, e.mode ?? 0o644);
    }
    const missing = entries.filter((e) => !isFile(`${out}/${e.path}`)).map((e) => e.path);
    if (missing.length) throw new PackageError(missing.map((m) => `${out}/${m} was not written`));
    return `${out}/ (${entries.map((e) => e.path).join(", ")})`;
  }
  mkdirFor(out);
  writeFileAtomic(out, makeZip(entries));
  // Read back what is on disk, and check it again.
  const written = readZip(Deno.readFileSync(out));
  const again = verifyPackage(platform, written, labs, options.selftest);
  if (written.length !== entries.length) {
    again.push(`${written.length} files read back of ${entries.length}`);
  }
  if (again.length) {
    Deno.removeSync(out);
    throw new PackageError(again.map((p) => `${out}: ${p}`));
  }
  return `${out} (${written.length} files, ${Math.round(Deno.statSync(out).size / 1024)} KiB)`;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Runs the package command with its arguments; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          lab: { type: "string", multiple: true },
          "per-lab": { type: "boolean", default: false },
          out: { type: "string" },
          budget: { type: "string" },
          selftest: { type: "boolean", default: false },
          help: { type: "boolean", short: "h", default: false },
        },
      });
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const { values: v, positionals } = parsed;
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    const platform = positionals[0] as Platform;
    if (positionals.length !== 1 || !PLATFORMS.includes(platform)) {
      throw new UsageError(`name one platform: ${PLATFORMS.join(", ")}`);
    }
    const names = (v.lab ?? []).flatMap((l) => l.split(",")).map((l) => l.trim()).filter(Boolean);
    let labs: LabInfo[];
    try {
      labs = selectLabs(loadCatalog(PROJECT_ROOT), names);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const budget = v.budget === undefined ? undefined : Number(v.budget);
    if (budget !== undefined && !(Number.isFinite(budget) && budget > 0)) {
      throw new UsageError("--budget needs a positive number of seconds");
    }
    if (v.selftest && platform !== "gradescope") {
      throw new UsageError(
        "--selftest is for Gradescope (setup.sh runs it); elsewhere run `deno task grade selftest` in the grading image",
      );
    }
    if (v["per-lab"] && platform === "prairielearn") {
      throw new UsageError(
        "a PrairieLearn package already has one question per lab: drop --per-lab",
      );
    }
    const options = { budget, selftest: v.selftest };
    const made: string[] = [];
    if (v["per-lab"]) {
      const dir = resolvePath(v.out ?? "grades/packages");
      for (const lab of labs) {
        const out = platform === "autolab"
          ? `${dir}/autolab-${lab.id}`
          : `${dir}/${platform}-${lab.id}.zip`;
        made.push(await build(platform, [lab], false, out, options));
      }
    } else {
      const out = resolvePath(
        v.out ??
          (platform === "autolab" ? "grades/packages/autolab" : `grades/packages/${platform}.zip`),
      );
      if (platform !== "autolab" && !out.endsWith(".zip")) {
        throw new UsageError(`--out for ${platform} names a .zip file`);
      }
      made.push(await build(platform, labs, names.length === 0, out, options));
    }
    for (const m of made) console.log(`wrote ${m}`);
    console.log(
      {
        gradescope: 'Upload each zip as the assignment\'s autograder ("Zip file upload").',
        autolab:
          "Upload autograde-Makefile and autograde.tar as the assessment's autograder; the image needs Deno (Dockerfile).",
        prairielearn:
          "Unzip it at the root of the course repository, build and push the image (graders/mmap-lab/), and name it in each question's info.json.",
      }[platform],
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n(deno task grade package --help for usage)`);
      return 2;
    }
    if (err instanceof PackageError) {
      console.error("error: the package is incomplete, and was not kept:");
      for (const p of err.problems) console.error(`  - ${p}`);
      return 1;
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      console.error(
        `error: ${err.message}: the "grade" permission set writes under ./grades/ and ./.mmap-lab/ (or run \`deno run -A cli/grade.ts package …\`)`,
      );
      return 1;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
