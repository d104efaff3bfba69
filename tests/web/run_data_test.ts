/**
 * The record `deno task lab web` reads: what the pictures' pages are called
 * (guard, dirty, clean only on evidence), the faults between pictures, the
 * kernel lines that concern a lab, and the record's file round trip.
 */

import assert from "node:assert/strict";
import type { Frame } from "../../lib/checker/drive.ts";
import { makeProject } from "../helpers/project.ts";
import {
  buildRunRecord,
  kernelLines,
  labsNamed,
  loadRunRecord,
  runRecordPath,
  saveRunRecord,
  webFrames,
} from "../../cli/web/run_data.ts";
import { kernelProfile } from "../../lib/profile.ts";
import { loadCatalog, PROJECT_ROOT } from "../../lib/catalog.ts";

const PS = 4096;

const indexes = (states: readonly string[], state: string) =>
  states.flatMap((s, i) => (s === state ? [i] : []));

function frame(pages: Frame["pages"], dirtyPages: number, more: Partial<Frame> = {}): Frame {
  return {
    title: "t",
    pages,
    smaps: {
      rss: pages.filter((p) => p !== "absent").length * PS,
      privateDirty: dirtyPages * PS,
      privateClean: 0,
      sharedDirty: 0,
      anonymous: 0,
    },
    kind: "file-shared",
    ...more,
  };
}

Deno.test("webFrames: a shared file mapping's pages are dirty, then clean, only when smaps says so of every one", () => {
  const frames = webFrames([
    frame(["file", "absent", "file"], 0),
    frame(["file", "absent", "file"], 2),
    frame(["file", "absent", "file"], 0),
    frame(["file", "absent", "file", "file"], 1),
  ], PS);
  assert.deepEqual(frames[0].pages, ["file", "absent", "file"], "clean but never dirty: file");
  assert.deepEqual(frames[1].pages, ["dirty", "absent", "dirty"]);
  assert.deepEqual(frames[2].pages, ["clean", "absent", "clean"], "written back since");
  // 1 of 3 present pages dirty: smaps cannot say which; the pages stay "file", a note says so.
  assert.deepEqual(frames[3].pages, ["file", "absent", "file", "file"]);
  assert.match(frames[3].note ?? "", /1 of the 3 pages present are dirty/);
});

Deno.test("webFrames: a private mapping's pages keep pagemap's names; PROT_NONE is a guard", () => {
  const [priv, guard] = webFrames([
    frame(["file", "copied"], 1, { kind: "file-private" }),
    frame(["absent", "file"], 0, { kind: "file-private", protection: "none" }),
  ], PS);
  assert.deepEqual(priv.pages, ["file", "copied"]);
  assert.equal(priv.note, undefined);
  assert.deepEqual(guard.pages, ["guard", "guard"]);
});

Deno.test("webFrames: faults between two pictures leave out what taking the first one cost", () => {
  const [first, second] = webFrames([
    frame(["absent"], 0, {
      faults: { minor: 100, major: 0 },
      faultsAfter: { minor: 110, major: 0 },
    }),
    frame(["file"], 0, { faults: { minor: 113, major: 1 }, faultsAfter: { minor: 120, major: 1 } }),
  ], PS);
  assert.equal(first.faults, undefined, "nothing before the first picture to compare with");
  assert.deepEqual(second.faults, { minor: 3, major: 1 });
});

Deno.test("kernelLines: the kernel, the page size, and the facts that name the lab", () => {
  assert.deepEqual(labsNamed("labs 01 and 09: pages; lab 04: zero"), ["01", "09", "04"]);
  assert.deepEqual(labsNamed("labs 05 and 10 see msync"), ["05", "10"]);
  const profile = kernelProfile(PROJECT_ROOT);
  const for04 = kernelLines(profile, "04").map((l) => l.what);
  assert.deepEqual(for04.slice(0, 2), ["kernel", "page size"]);
  assert.ok(for04.includes("reading fresh private anonymous memory"), for04.join("; "));
  assert.ok(!kernelLines(profile, "03").some((l) => l.what.startsWith("reading fresh")));
});

Deno.test("run record: saved whole in one rename, read back; another format is no record", () => {
  const root = Deno.makeTempDirSync({ dir: `${PROJECT_ROOT}/.mmap-lab`, prefix: "web-record-" });
  try {
    const lab = loadCatalog(PROJECT_ROOT).labs.find((l) => l.id === "03_private_cow")!;
    assert.equal(loadRunRecord(root, lab.id), undefined);
    const record = buildRunRecord({ root, labs: [lab] }, lab, { digest: "0badcafe" });
    saveRunRecord(root, record);
    assert.deepEqual(loadRunRecord(root, lab.id), record);
    assert.deepEqual([...Deno.readDirSync(`${root}/.mmap-lab/web`)].map((e) => e.name), [
      `${lab.id}.json`,
    ]);
    Deno.writeTextFileSync(runRecordPath(root, lab.id), '{"format":"other"}');
    assert.equal(loadRunRecord(root, lab.id), undefined);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("lab 05's picture: the update's pages dirty after the stores, clean after commitUpdate", async () => {
  const dir = makeProject(["05_msync"]);
  try {
    // The copy's own module: its child's harness then shares the drive's call record.
    const { capturePicture } = await import(
      `file://${dir}/cli/web/run_data.ts`
    ) as typeof import("../../cli/web/run_data.ts");
    const catalog = loadCatalog(dir);
    const lab = catalog.labs[0];
    // The stub's commitUpdate does nothing: the stored pages stay dirty, no call in between.
    const stub = (await capturePicture(catalog, lab))!;
    assert.equal(stub.failure, undefined);
    assert.deepEqual(indexes(stub.frames[2].pages, "dirty"), [3, 4], `${stub.frames[2].pages}`);
    assert.equal(
      typeof stub.frames[1].callsBefore,
      "number",
      "each picture placed among the calls",
    );
    assert.equal(stub.frames[2].callsBefore, stub.frames[1].callsBefore);
    Deno.copyFileSync(`${dir}/solutions/05_msync/durable.ts`, `${dir}/labs/05_msync/durable.ts`);
    const picture = await capturePicture(catalog, lab);
    assert.equal(picture?.failure, undefined);
    const [mapped, stored, committed] = picture!.frames;
    assert.ok(mapped.pages.every((p) => p === "absent"), `${mapped.pages}`);
    assert.deepEqual(indexes(stored.pages, "dirty"), [3, 4], `${stored.pages}`);
    assert.deepEqual(indexes(committed.pages, "clean"), [3, 4], `${committed.pages}`);
    assert.equal(committed.pages[0], "file", "the marker's page: written and synced here");
    // The calls between the stores and the commit: the student's two msyncs, data first.
    const made = picture!.calls.slice(stored.callsBefore, committed.callsBefore).map((c) => c.text);
    assert.deepEqual(made.map((c) => c.split("(")[0]), ["msync", "msync"], made.join("\n"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
