/**
 * Child side of lab 03: opens the student's draft, reads it, edits it (fault
 * counts measured around each call), lets the checker look at pagemap and
 * smaps and change the file, reads what the draft shows, reverts a page.
 */
import {
  defineDrive,
  type Mapping,
  pageFingerprints,
  studentExport,
  threadFaultCounts,
} from "../../../lib/checker/mod.ts";
import { type DriveParams } from "./shared.ts";

const decoder = new TextDecoder();
const PREDICTIONS = [
  "PREDICTED_FAULTS_FIRST_EDIT",
  "PREDICTED_FAULTS_SECOND_EDIT",
  "PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE",
  "PREDICTED_EDITED_PAGE_SEES_CHANGE",
];

export default defineDrive<DriveParams>(async (ctx) => {
  const openDraft = studentExport<(path: string) => Mapping>(ctx, "openDraft");
  const edit = studentExport<(draft: Mapping, offset: number, text: string) => void>(ctx, "edit");
  const revertPage = studentExport<(draft: Mapping, page: number) => void>(ctx, "revertPage");
  const { path, edits, changes, revert } = ctx.params;

  const draft = openDraft(path);
  if (
    draft === null || typeof draft !== "object" || !(draft.bytes instanceof Uint8Array) ||
    typeof draft.address !== "bigint"
  ) {
    throw new TypeError("openDraft must return the Mapping that mapFile() gives you");
  }
  const ps = draft.pageSize;
  const where = { address: "0x" + draft.address.toString(16), pages: draft.pageCount };
  const text = (at: number, length: number) =>
    decoder.decode(draft.bytes.subarray(at, at + length));

  // Read every page: each is now mapped, as the file's page-cache page.
  const before = pageFingerprints(draft.bytes, ps);
  await ctx.checkpoint("read", where);

  // Faults are counted around each call. Deno adds one now and then (a fresh heap page, a
  // compiler thread), never takes one away: the checker uses the fewest.
  const minor = () => threadFaultCounts().minor; // the main thread only
  const firstFaults = edits.map(() => 0);
  const secondFaults = edits.map(() => 0);
  for (let round = 0; round < 2; round++) {
    const counts = round === 0 ? firstFaults : secondFaults;
    for (let i = 0; i < edits.length; i++) {
      const e = edits[i];
      const start = minor();
      edit(draft, e.page * ps + e.offset, e.text);
      counts[i] = minor() - start;
    }
  }
  const readBack = edits.map((e) => text(e.page * ps + e.offset, e.text.length));
  const afterEdits = pageFingerprints(draft.bytes, ps);
  await ctx.checkpoint("edited", where);

  // The checker has written new bytes into the file by now.
  const seen = changes.map((c) => text(c.page * ps + c.offset, c.length));

  revertPage(draft, revert);
  if (draft.closed) throw new Error("revertPage unmapped the whole draft");
  await ctx.checkpoint("reverted", where);
  const afterRevert = pageFingerprints(draft.bytes, ps);
  const revertedEdit = edits.filter((e) => e.page === revert).map((e) =>
    text(e.page * ps + e.offset, e.text.length)
  );

  draft.unmap();
  const predictions = Object.fromEntries(
    PREDICTIONS.map((name) => [name, ctx.student[name] ?? null]),
  );
  return {
    predictions,
    address: where.address,
    length: draft.length,
    pageSize: ps,
    before,
    firstFaults,
    secondFaults,
    readBack,
    afterEdits,
    seen,
    afterRevert,
    revertedEdit,
  };
});
