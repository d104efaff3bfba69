/**
 * The checks that depend on facts in which kernels differ, decided on
 * observations recorded on several kernels (`tests/fixtures/kernels/`): a
 * check's decision is a pure function of what it observed and of the kernel
 * profile, so a recording made on one machine is replayed on any other.
 *
 * - `linux-6.18-ext4`: no zero page (reads allocate), fault-around 16 pages
 *   (512 after one large write), scratch on ext4 with writeback.
 * - `linux-6.18-tmpfs`: the same kernel with the scratch directory on tmpfs:
 *   no writeback, no page cache that can be emptied.
 * - `textbook-zero-page`: lab 04 as a kernel with the zero page shows it,
 *   derived page by page from the first (`derive_zero_page.ts`).
 *
 * Lab 11 on a system that refuses executable anonymous memory is replayed
 * from this machine's own run, edited as such a system shows it.
 *
 * Record again with `tests/fixtures/kernels/record.ts` on a new kernel.
 */
import assert from "node:assert/strict";
import { findLab, type LabInfo, loadCatalog, PROJECT_ROOT, solutionFile } from "../lib/catalog.ts";
import { type LabResult, runLab } from "../lib/checker/run.ts";
import type { KernelProfile } from "../lib/profile.ts";
import { scratchRoot } from "./helpers/scratch.ts";

interface Fixture {
  kernel: KernelProfile;
  labs: Record<string, { observations: Record<string, unknown> }>;
}

const catalog = loadCatalog(PROJECT_ROOT);
const FIXTURES = ["linux-6.18-ext4", "linux-6.18-tmpfs", "textbook-zero-page"];

function fixture(name: string): Fixture {
  return JSON.parse(
    Deno.readTextFileSync(new URL(`./fixtures/kernels/${name}.json`, import.meta.url)),
  );
}

/** The checks whose every observation a fixture holds, per lab. */
const REPLAYABLE: Record<string, string[] | undefined> = {
  "04_anonymous_memory": undefined, // all of them
  "09_performance": ["log-pages", "predicts-pages"],
};

async function replay(
  name: string,
  labId: string,
  edit?: (observations: Record<string, unknown>) => void,
  kernel?: KernelProfile,
): Promise<LabResult> {
  const f = fixture(name);
  const lab = findLab(catalog, labId) as LabInfo;
  const observations = structuredClone(f.labs[labId].observations);
  edit?.(observations);
  return await runLab(catalog, lab, {
    studentFile: solutionFile(PROJECT_ROOT, lab),
    includeHidden: true,
    kernel: kernel ?? f.kernel,
    observations: new Map(Object.entries(observations)),
    only: REPLAYABLE[labId],
    withParents: false,
    scratchRoot: scratchRoot(), // the recorded kernel's own may not exist here
  });
}

function check(result: LabResult, id: string) {
  const c = result.checks.find((c) => c.id === id);
  assert.ok(c, `no check ${id} in ${result.id}`);
  return c;
}

function describe(result: LabResult): string {
  return result.checks.map((c) =>
    `${c.id}: ${c.status} ${c.message} ${JSON.stringify(c.details)}\n  ${c.notes.join("\n  ")}`
  ).join("\n");
}

for (const name of FIXTURES) {
  for (const labId of Object.keys(fixture(name).labs)) {
    Deno.test(`${name}: ${labId}: the reference solution's recorded run passes every replayed check`, async () => {
      const result = await replay(name, labId);
      assert.ok(result.checks.length > 0);
      for (const c of result.checks) assert.equal(c.status, "passed", describe(result));
    });
  }
}

/** Lab 04's private-memory observation, for editing. */
// deno-lint-ignore no-explicit-any
type Obs = any;

Deno.test("lab 04: the notes say what this kernel did with read faults, never the other kernel's behaviour", async () => {
  const allocating = await replay("linux-6.18-ext4", "04_anonymous_memory");
  const faults = check(allocating, "predict-read-faults").notes.join("\n");
  assert.match(faults, /this process's own \(bit 56 set\)/);
  assert.doesNotMatch(faults, /nobody's own|swapped the zero page/);
  assert.match(faults, /your kernel: a read fault of fresh private anonymous memory allocates/);

  const textbook = await replay("textbook-zero-page", "04_anonymous_memory");
  const zero = check(textbook, "predict-read-faults").notes.join("\n");
  assert.match(zero, /nobody's own \(pagemap bit 56 clear: the shared zero page\)/);
  assert.match(zero, /swapped the zero page for a page of your own/);
  assert.doesNotMatch(zero, /your kernel:/);
});

Deno.test("lab 04: release-zeros expects Rss to drop by the pages of the process's own in the range, as pagemap showed them", async () => {
  for (const name of ["linux-6.18-ext4", "textbook-zero-page"]) {
    const f = fixture(name);
    const run = (f.labs["04_anonymous_memory"].observations as Obs).private;
    const { first, count } = run.params.release;
    const before = run.looks.written;
    const own = before.pages.slice(first, first + count).filter((p: Obs) => p.exclusive).length;
    const result = await replay(name, "04_anonymous_memory");
    const note = check(result, "release-zeros").notes.join("\n");
    assert.match(note, new RegExp(`\\(${own} pages? of your own among them`), `${name}: ${note}`);
    // The kernels differ: every page is the process's own after reading on one, none on the other.
    if (f.kernel.zeroPage) {
      const writtenIn = new Set(
        run.params.writes.map((w: Obs) => w.page).filter((p: number) =>
          p >= first && p < first + count
        ),
      );
      assert.equal(own, writtenIn.size, "with the zero page, only written pages are one's own");
    } else {
      assert.equal(own, count);
    }

    // A release that left one page of its own in the range (Rss one page too high) fails.
    const kept = await replay(name, "04_anonymous_memory", (o: Obs) => {
      o.private.looks.released.rss += run.pageSize;
    });
    const c = check(kept, "release-zeros");
    assert.equal(c.status, "failed", describe(kept));
    assert.match(c.details.mistake ?? "", /each released page that counted in Rss/);
  }
});

Deno.test("lab 04: a wrong prediction is explained from what this kernel did", async () => {
  for (const name of ["linux-6.18-ext4", "textbook-zero-page"]) {
    const result = await replay(name, "04_anonymous_memory", (o: Obs) => {
      o.private.result.value.predictions.PREDICTED_FAULTS_WHEN_READING = "none";
    });
    const c = check(result, "predict-read-faults");
    assert.equal(c.status, "failed");
    assert.match(c.message, /differs from what the kernel did/);
    const zeroPage = fixture(name).kernel.zeroPage;
    assert.match(
      c.details.mistake ?? "",
      zeroPage ? /here the shared zero page/ : /here a fresh zeroed page of your own/,
    );
  }
});

Deno.test("lab 04: a fault count from inside the child that the kernel's own count contradicts fails", async () => {
  const result = await replay("linux-6.18-ext4", "04_anonymous_memory", (o: Obs) => {
    o.private.result.value.readFaults = 0; // as a patched getrusage would report
  });
  const c = check(result, "predict-read-faults");
  assert.equal(c.status, "failed");
  assert.match(c.message, /disagrees with the kernel's/);
});

Deno.test("lab 09: with no page cache to empty, lookups are counted in this kernel's fault-around windows", async () => {
  const tmpfs = await replay("linux-6.18-tmpfs", "09_performance");
  const window = fixture("linux-6.18-tmpfs").kernel.faultAround.smallWrites;
  assert.match(
    check(tmpfs, "log-pages").notes.join("\n"),
    new RegExp(`${window}-page windows mapped`),
  );
  const ext4 = await replay("linux-6.18-ext4", "09_performance");
  assert.match(check(ext4, "log-pages").notes.join("\n"), /pages read per cold lookup/);
});

Deno.test("lab 05: on a machine whose scratch directory has no writeback, the clean-page checks say so and blame no one", async () => {
  const lab = findLab(catalog, "05_msync") as LabInfo;
  const result = await runLab(catalog, lab, {
    studentFile: solutionFile(PROJECT_ROOT, lab),
    kernel: fixture("linux-6.18-tmpfs").kernel,
    only: ["pages-clean"],
    withParents: false,
    scratchRoot: scratchRoot(),
  });
  const c = check(result, "pages-clean");
  assert.equal(c.status, "failed");
  assert.match(c.message, /where msync cleans no page/);
  assert.match(c.details.mistake ?? "", /^not yours/);
  assert.match(c.details.kernel ?? "", /no scratch directory with writeback/);
});

Deno.test("lab 11: where executable anonymous memory is refused, the checks that run code judge the attempt and skip the run with a note", async () => {
  const lab = findLab(catalog, "11_executable_memory") as LabInfo;
  const here = fixture("linux-6.18-ext4").kernel;
  // The reference solution's runs on this machine, then edited as a refusing system shows them:
  // the mprotect to PROT_READ|PROT_EXEC fails with EACCES, and compile throws it.
  const observations = new Map<string, unknown>();
  const run = (kernel: KernelProfile, keys?: Map<string, unknown>) =>
    runLab(catalog, lab, {
      studentFile: solutionFile(PROJECT_ROOT, lab),
      includeHidden: true,
      kernel,
      observations: keys ?? observations,
      scratchRoot: scratchRoot(),
    });
  const real = await run(here);
  assert.ok(real.passed, describe(real));

  const refuse = (calls: Obs[]): Obs[] => {
    const at = calls.findIndex((c) => c.call === "mprotect" && c.args.prot & 4);
    assert.ok(at >= 0);
    return [...calls.slice(0, at), { ...calls[at], result: -1, error: "EACCES" }];
  };
  const thrown = {
    name: "MmapError",
    message: "mprotect failed: EACCES",
    code: "EACCES",
    syscall: "mprotect",
    fromKernel: true,
  };
  const refused = (edit: (jit: Obs) => void = () => {}) => {
    const o = structuredClone(observations) as Map<string, Obs>;
    const jit = o.get("jit");
    jit.result.calls = refuse(jit.result.calls);
    jit.flight = refuse(jit.flight);
    const { results: _r, address: _a, callFrom: _c, freeFrom: _f, freeTo: _t, ...rest } = jit.value;
    jit.value = { ...rest, compileError: thrown, compileTo: jit.result.calls.length };
    jit.result.value = jit.value;
    delete jit.address;
    delete jit.atCall;
    delete jit.afterFree;
    edit(jit);
    const seal = o.get("signal-writeAfterSeal");
    seal.flight = refuse(seal.flight);
    seal.result = { ...seal.result, outcome: "threw", signal: undefined, error: thrown };
    return o;
  };

  const noExec = { ...here, execAnonymous: false };
  const skipped = await run(noExec, refused());
  for (
    const id of ["runs-code", "w-xor-x", "frees-code", "dies-writing-code", "predict-signals"]
  ) {
    const c = check(skipped, id);
    assert.equal(c.status, "passed", describe(skipped));
    assert.match(c.notes.join("\n"), /your system refuses executable anonymous memory/, id);
  }
  // The attempt is still judged: mmap, the store (what the page held as mprotect returned), mprotect.
  assert.match(check(skipped, "w-xor-x").notes.join("\n"), /store: the page held the \d+ bytes/);
  const notStored = await run(
    noExec,
    refused((jit) =>
      jit.value.looks.forEach((l: Obs) => l.bytes = l.bytes?.replace(/\w\w/g, "00"))
    ),
  );
  assert.equal(check(notStored, "w-xor-x").status, "failed", describe(notStored));

  // The same calls where the profile says executable memory is allowed: not skipped.
  const allowed = await run({ ...here, execAnonymous: true }, refused());
  const c = check(allowed, "runs-code");
  assert.equal(c.status, "failed");
  assert.match(c.details.mistake ?? "", /doctor --fresh/);
  assert.equal(check(allowed, "dies-writing-code").status, "failed");
});
