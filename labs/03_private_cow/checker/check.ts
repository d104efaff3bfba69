/**
 * Checks of lab 03: a private, writable mapping of a file; copy-on-write seen
 * in /proc/PID/pagemap and smaps; revert with MADV_DONTNEED; predictions.
 */
import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  diagnoseSegv,
  differingPages,
  formatInvocation,
  hasFlag,
  kB,
  pageFingerprints,
  pageList,
  requirePrediction,
  succeeded,
} from "../../../lib/checker/mod.ts";
import { type DriveParams, type Edit, fewest, type Look } from "./shared.ts";

/** What the drive returns. */
interface DriveValue {
  predictions: Record<string, unknown>;
  address: string;
  length: number;
  pageSize: number;
  before: string[];
  firstFaults: number[];
  secondFaults: number[];
  readBack: string[];
  afterEdits: string[];
  seen: string[];
  afterRevert: string[];
  revertedEdit: string[];
}

interface Run {
  params: DriveParams;
  pageSize: number;
  original: Uint8Array;
  /** The file's page-cache frames (null when the kernel hides them), seen by the inspector. */
  cacheFrames: (string | null)[];
  atRead?: Look;
  atEdited?: Look & { file: Uint8Array };
  atReverted?: Look;
  /** What the checker wrote into the file at the "edited" checkpoint (one per params.changes). */
  changeTexts: string[];
  /** The file after the checker's writes (what the file "is now"). */
  fileNow: Uint8Array;
  fileAtEnd?: Uint8Array;
  result: ChildResult;
}

const encoder = new TextEncoder();

/**
 * Reads the draft's pagemap and smaps (and, with `file`, the page cache's frames) in a child of
 * the checker's own (inspect.ts): the runner needs no FFI for it (Deno refuses /proc/PID without
 * FFI or --allow-all), and never maps anything itself.
 */
async function look(
  ctx: CheckContext,
  pid: number,
  where: { address: string; pages: number },
  pageSize: number,
  file?: string,
): Promise<{ look: Look; cacheFrames?: (string | null)[] }> {
  const r = await ctx.run("inspect.ts", { pid, ...where, pageSize, file }, { record: false });
  if (r.outcome !== "ok") {
    throw new Error(`could not inspect process ${pid}: ${r.error?.message ?? r.outcome}`);
  }
  return r.value as { look: Look; cacheFrames?: (string | null)[] };
}

/** The page size, asked of the inspector child (sys.pageSize() is FFI). */
async function pageSize(ctx: CheckContext): Promise<number> {
  const r = await ctx.run("inspect.ts", {}, { record: false });
  const size = (r.value as { pageSize?: number } | undefined)?.pageSize;
  if (r.outcome !== "ok" || typeof size !== "number") {
    throw new Error(`could not learn the page size: ${r.error?.message ?? r.outcome}`);
  }
  return size;
}

function makeText(random: CheckContext["random"], length: number): Uint8Array {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const raw = random.bytes(length);
  return raw.map((b, i) => (i % 64 === 63 ? 10 : letters.charCodeAt(b % 26)));
}

function distinct(random: CheckContext["random"], count: number, below: number): number[] {
  const out = new Set<number>();
  while (out.size < count) out.add(random.int(0, below - 1));
  return [...out];
}

async function runOnce(ctx: CheckContext): Promise<Run> {
  return await ctx.once<Run>("draft", async () => {
    const ps = await pageSize(ctx);
    const pageCount = ctx.random.int(12, 24);
    const size = pageCount * ps - ctx.random.int(0, ps / 4);
    const original = makeText(ctx.random, size);
    const path = ctx.file("data.txt", original);
    const fullPages = pageCount - 1; // edits and changes stay on whole pages
    const k = ctx.random.int(4, 6);
    const chosen = distinct(ctx.random, k + 1, fullPages);
    const editedPages = chosen.slice(0, k);
    const untouched = chosen[k];
    const edits: Edit[] = editedPages.map((page) => {
      const text = `EDIT-${ctx.random.nonce(12).toUpperCase()}`;
      return { page, offset: ctx.random.int(0, ps / 2 - text.length), text };
    });
    const [revert, keep] = editedPages;
    const changePages = [untouched, keep, revert];
    const changeTexts = changePages.map(() => `NEW-${ctx.random.nonce(12).toUpperCase()}`);
    const changes = changePages.map((page, i) => ({
      page,
      offset: ctx.random.int(ps / 2, ps - changeTexts[i].length - 1),
      length: changeTexts[i].length,
    }));
    const params: DriveParams = { path, edits, changes, revert };
    const fileNow = original.slice();
    changes.forEach((c, i) => fileNow.set(encoder.encode(changeTexts[i]), c.page * ps + c.offset));

    const run: Run = {
      params,
      pageSize: ps,
      original,
      cacheFrames: [],
      changeTexts,
      fileNow,
      result: undefined as unknown as ChildResult,
    };
    const child = ctx.spawn("drive.ts", params);
    for (;;) {
      const cp = await child.checkpoint();
      if (!cp) break;
      const where = cp.data as { address: string; pages: number };
      if (cp.name === "read") {
        const seen = await look(ctx, child.pid, where, ps, path);
        run.atRead = seen.look;
        run.cacheFrames = seen.cacheFrames ?? [];
      } else if (cp.name === "edited") {
        run.atEdited = {
          ...(await look(ctx, child.pid, where, ps)).look,
          file: Deno.readFileSync(path),
        };
        // Another process (this one) changes the file with write(), no mapping.
        using file = Deno.openSync(path, { write: true });
        changes.forEach((c, i) => {
          file.seekSync(c.page * ps + c.offset, Deno.SeekMode.Start);
          file.writeSync(encoder.encode(changeTexts[i]));
        });
      } else if (cp.name === "reverted") {
        run.atReverted = (await look(ctx, child.pid, where, ps)).look;
      }
      await child.resume();
    }
    run.result = await child.result();
    run.fileAtEnd = Deno.readFileSync(path);
    return run;
  });
}

/** The drive's value, or a failure saying how the child ended. */
function finished(ctx: CheckContext, run: Run): DriveValue {
  const r = run.result;
  if (r.outcome === "signal" && r.signal === "SIGSEGV") {
    // From the call record: the fault address is not known, so name only what it shows.
    const d = diagnoseSegv(r.calls);
    ctx.fail("your code was killed by SIGSEGV while the draft was edited, read or reverted", {
      expected: "a writable draft: mmap(…, PROT_READ|PROT_WRITE, MAP_PRIVATE, fd, 0), mapped " +
        "until the caller unmaps it",
      observed: `killed by SIGSEGV; your calls: ${d.evidence}`,
      mistake: d.cause === "read-only"
        ? 'a read-only mapping: mapFile maps with access "read" unless you ask for ' +
          '"readwrite" (a private mapping may be writable even though the file is opened read-only)'
        : d.cause === "unmapped"
        ? `${d.mistake}. To throw a page's edits away, keep it mapped: draft.discard ` +
          "(MADV_DONTNEED) drops the private copy"
        : d.mistake,
    });
  }
  return ctx.expectOk(r, "opening, editing and reverting the draft") as DriveValue;
}

function draftCall(run: Run, calls: CallRecord[]): CallRecord | undefined {
  const value = run.result.value as DriveValue | undefined;
  const maps = succeeded(calls, "mmap");
  if (value) return maps.find((c) => c.result === value.address);
  return maps.at(-1);
}

/** Expected page fingerprints of the draft: the file's bytes, with `edits` applied. */
function expectedPages(base: Uint8Array, edits: Edit[], ps: number): string[] {
  const bytes = base.slice();
  for (const e of edits) bytes.set(encoder.encode(e.text), e.page * ps + e.offset);
  return pageFingerprints(bytes, ps);
}

function frameText(frame: string | null): string {
  return frame ?? "hidden";
}

export default defineChecks([
  {
    id: "private-draft",
    title: "openDraft maps the file writable, and edit() changes the draft",
    points: 2,
    hint: 'mapFile(path, { mode: "private", access: "readwrite" }); then ' +
      "draft.bytes.set(new TextEncoder().encode(text), offset).",
    async run(ctx: CheckContext) {
      const run = await runOnce(ctx);
      const value = finished(ctx, run);
      const call = draftCall(run, run.result.calls);
      if (!call) {
        ctx.fail("the draft is not memory your code mapped with mmap()", {
          mistake: "openDraft must return the Mapping that mapFile() returns",
        });
      }
      ctx.note(`your draft: ${formatInvocation(call)}`);
      if (hasFlag(call, "MAP_ANONYMOUS")) {
        ctx.fail("the draft is anonymous memory holding a copy of the file, not a mapping of it", {
          expected: "mmap(…, MAP_PRIVATE, fd, 0): a private mapping of the file itself",
          observed: formatInvocation(call),
          mistake: "copying the whole file into fresh memory costs one page of RAM per page of " +
            'file before you edit anything; map the file with mode: "private" instead',
        });
      }
      const ps = run.pageSize;
      const fromFile = pageFingerprints(run.original, ps);
      const differ = differingPages(value.before, fromFile);
      if (value.before.length !== fromFile.length || differ.length) {
        ctx.fail("before any edit, the draft does not read as the file", {
          expected: `${fromFile.length} pages equal to the file's`,
          observed: `${value.before.length} pages, ${pageList(differ)} different`,
          mistake: "map the whole file from offset 0 (no length, no offset)",
        });
      }
      const { edits } = run.params;
      edits.forEach((e, i) => {
        if (value.readBack[i] !== e.text) {
          ctx.fail(
            `edit(draft, ${e.page * ps + e.offset}, "${e.text}") did not put the text there`,
            {
              expected: JSON.stringify(e.text),
              observed: JSON.stringify(value.readBack[i]),
              mistake: value.readBack[i] === new TextDecoder().decode(
                  run.original.subarray(
                    e.page * ps + e.offset,
                    e.page * ps + e.offset + e.text.length,
                  ),
                )
                ? "nothing was written: edit() must copy the encoded text into draft.bytes"
                : "wrong place: `offset` counts bytes from the start of the draft",
            },
          );
        }
      });
      const expected = expectedPages(run.original, edits, ps);
      const wrong = expected.map((f, i) => f === value.afterEdits[i] ? -1 : i).filter((i) =>
        i >= 0
      );
      if (wrong.length) {
        ctx.fail("edit() changed bytes besides the text it was given", {
          expected: `only the ${edits.length} texts changed`,
          observed: `${pageList(wrong)} differ from the file plus the edits`,
          mistake: "write exactly the encoded bytes of the text, at `offset`",
        });
      }
    },
  },
  {
    id: "file-untouched",
    title: "the file keeps its bytes while the draft changes (seen by another process)",
    points: 2,
    parent: "private-draft",
    hint: 'Only a private mapping (mode: "private") keeps writes to itself.',
    async run(ctx: CheckContext) {
      const run = await runOnce(ctx);
      const call = draftCall(run, run.result.calls);
      const shared = call !== undefined && hasFlag(call, "MAP_SHARED");
      const writes = callsTo(run.result.calls, "pwrite", "write");
      const check = (what: string, seen: Uint8Array | undefined, expected: Uint8Array) => {
        if (!seen) return;
        const a = pageFingerprints(seen, run.pageSize);
        const b = pageFingerprints(expected, run.pageSize);
        const differ = differingPages(a, b);
        if (differ.length || seen.length !== expected.length) {
          ctx.fail(`the file changed: ${what}, ${pageList(differ)} differ from the original`, {
            expected: "the file's original bytes (the draft's edits stay in your process)",
            observed: `your edits in the file${
              call ? `; your draft: ${formatInvocation(call)}` : ""
            }`,
            mistake: shared
              ? 'a MAP_SHARED mapping (mode "shared", mapFile\'s default) writes through to the ' +
                'file: use mode: "private"'
              : writes.length
              ? "your code wrote the file with write()/pwrite(): edits belong in the draft only"
              : "something wrote your edits into the file",
          });
        }
      };
      check("read by the checker while your draft was mapped", run.atEdited?.file, run.original);
      check("read after your process ended", run.fileAtEnd, run.fileNow);
      ctx.note("the checker read the file from another process: your edits are not in it");
    },
  },
  {
    id: "copy-on-write",
    title: "pagemap: untouched pages are the file's page-cache pages; each edited page, a copy",
    points: 2,
    parent: "private-draft",
    hint: "Map private and writable, without populate: the kernel copies a page only when you " +
      "first write it.",
    async run(ctx: CheckContext) {
      const run = await runOnce(ctx);
      const call = draftCall(run, run.result.calls)!;
      const { atRead, atEdited } = run;
      if (!atRead || !atEdited) ctx.fail("the drive did not reach its checkpoints");
      const ps = run.pageSize;
      const populate = hasFlag(call, "MAP_POPULATE");
      const notFile = atRead.pages.map((p, i) => p.present && p.fileOrShared ? -1 : i)
        .filter((i) => i >= 0);
      if (notFile.length) {
        ctx.fail("before any edit, some pages of the draft are not the file's pages", {
          expected: "after reading, every page present with the file bit (pagemap bit 61) set",
          observed: `${pageList(notFile)} already private copies (bit 61 clear); smaps ` +
            `Anonymous ${kB(atRead.anonymous)}`,
          mistake: populate
            ? "MAP_POPULATE on a private writable mapping pre-faults every page for writing: " +
              "the kernel copies them all at once. Drop populate"
            : hasFlag(call, "MAP_SHARED")
            ? "a shared mapping"
            : "the draft was written before any edit",
        });
      }
      const framesShown = run.cacheFrames.some((f) => f !== null) &&
        atRead.pages.some((p) => p.frame !== null);
      const sameFrameAtRead = atRead.pages.map((p, i) =>
        p.frame !== null && run.cacheFrames[i] !== null && p.frame !== run.cacheFrames[i] ? i : -1
      ).filter((i) => i >= 0);
      if (sameFrameAtRead.length) {
        ctx.fail("before any edit, the draft's pages are not the page cache's frames", {
          expected: "each page the same physical frame as the file's page-cache page",
          observed: `${pageList(sameFrameAtRead)} on other frames`,
          mistake: "the draft holds copies instead of mapping the file",
        });
      }
      const edited = [...new Set(run.params.edits.map((e) => e.page))].sort((a, b) => a - b);
      const copied = atEdited.pages.map((p, i) => p.present && !p.fileOrShared ? i : -1)
        .filter((i) => i >= 0);
      const absentEdited = edited.filter((i) => !atEdited.pages[i].present);
      if (hasFlag(call, "MAP_SHARED") && copied.length === 0) {
        ctx.fail("no page was copied on write: your edits went to the file's pages", {
          expected: `${pageList(edited)} copied (pagemap bit 61 clear)`,
          observed: `every page still the file's page-cache page; your draft: ${
            formatInvocation(call)
          }`,
          mistake: 'a MAP_SHARED mapping writes into the page cache: use mode: "private"',
        });
      }
      if (copied.join() !== edited.join()) {
        const extra = copied.filter((i) => !edited.includes(i));
        ctx.fail("the private copies are not exactly the edited pages", {
          expected: `copies of ${pageList(edited)} only`,
          observed: `copies of ${pageList(copied)}` +
            (absentEdited.length ? `; ${pageList(absentEdited)} not even present` : ""),
          mistake: extra.length
            ? "pages you did not edit were written too: edit() must write the text only"
            : "an edited page is still the file's page: was it written through this mapping?",
        });
      }
      const cowFrames = edited.filter((i) => {
        const f = atEdited.pages[i].frame;
        return f !== null && run.cacheFrames[i] !== null && f === run.cacheFrames[i];
      });
      if (cowFrames.length) {
        ctx.fail("edited pages still sit on the page cache's frames", {
          expected: "a new physical frame for each edited page",
          observed: `${pageList(cowFrames)} on the file's frame`,
        });
      }
      const notExclusive = edited.filter((i) => !atEdited.pages[i].exclusive);
      if (notExclusive.length) {
        ctx.fail("edited pages are not this process's own", {
          expected: "pagemap bit 56 (exclusively mapped) set on each edited page",
          observed: `${pageList(notExclusive)} without it`,
        });
      }
      ctx.expectEqual(atEdited.anonymous, edited.length * ps, {
        what: "smaps Anonymous of the draft after the edits (bytes)",
        mistake: "each edited page should cost exactly one page of anonymous memory, no more",
      });
      ctx.note(
        `pagemap after reading: ${atRead.pages.length} pages, all the file's (bit 61 set); ` +
          `Anonymous ${kB(atRead.anonymous)}`,
      );
      ctx.note(
        `after editing ${pageList(edited)}: exactly those are copies (bit 61 clear, bit 56 set); ` +
          `Anonymous ${kB(atEdited.anonymous)} = ${edited.length} × ${kB(ps)}`,
      );
      if (framesShown) {
        const p = edited[0];
        ctx.note(
          `frames: page ${p} was frame ${frameText(run.cacheFrames[p])} (the page cache's), now ` +
            `${frameText(atEdited.pages[p].frame)}; untouched pages kept the page cache's frames`,
        );
      } else {
        ctx.note(
          "frame numbers are hidden without CAP_SYS_ADMIN: judged on the file and exclusive bits",
        );
      }
    },
  },
  {
    id: "revert",
    title: "revertPage drops the copy: the page shows the file again, other edits stay",
    points: 2,
    parent: "copy-on-write",
    hint:
      "draft.discard({ offset: page * draft.pageSize, length: draft.pageSize }) is MADV_DONTNEED " +
      "on exactly that page.",
    async run(ctx: CheckContext) {
      const run = await runOnce(ctx);
      const value = finished(ctx, run);
      // The draft is read after the checker changed the file: what it reads answers the
      // predictions of predict-file-change. Predict first.
      requirePrediction(ctx, value.predictions.PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE ?? undefined, {
        name: "PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE",
        allowed: "boolean",
      });
      requirePrediction(ctx, value.predictions.PREDICTED_EDITED_PAGE_SEES_CHANGE ?? undefined, {
        name: "PREDICTED_EDITED_PAGE_SEES_CHANGE",
        allowed: "boolean",
      });
      const atReverted = run.atReverted;
      if (!atReverted) ctx.fail("the drive did not reach its checkpoint after revertPage");
      const ps = run.pageSize;
      const { revert, edits } = run.params;
      const edited = [...new Set(edits.map((e) => e.page))];
      // What the draft should read: the file as it is now, except the pages still edited, which
      // are copies taken before the file changed: the original bytes plus the edits.
      const kept = edits.filter((e) => e.page !== revert);
      const base = run.fileNow.slice();
      for (const e of kept) {
        base.set(run.original.subarray(e.page * ps, (e.page + 1) * ps), e.page * ps);
      }
      const expected = expectedPages(base, kept, ps);
      const wrong = expected.map((f, i) => f === value.afterRevert[i] ? -1 : i).filter((i) =>
        i >= 0
      );
      const revertPage = atReverted.pages[revert];
      const stillCopy = revertPage.present && !revertPage.fileOrShared;
      const lost = kept.map((e) => e.page).filter((p) => wrong.includes(p));
      const stillEdited = value.revertedEdit.some((t, i) =>
        t === edits.filter((e) => e.page === revert)[i].text
      );
      // Pages other than `revert` that revertPage dropped: present before, absent (or no longer
      // a copy, for edited ones) after.
      const atEdited = run.atEdited!;
      const dropped = atReverted.pages.map((page, i) => {
        if (i === revert) return -1;
        const before = atEdited.pages[i];
        const wasCopy = before.present && !before.fileOrShared;
        const isCopy = page.present && !page.fileOrShared;
        return (before.present && !page.present) || (wasCopy && !isCopy) ? i : -1;
      }).filter((i) => i >= 0);
      if (stillCopy && stillEdited) {
        ctx.fail(`page ${revert} still holds your edit after revertPage(draft, ${revert})`, {
          expected: `page ${revert} back to the file's bytes`,
          observed: `still ${JSON.stringify(value.revertedEdit[0])}; ` +
            (dropped.length ? `${pageList(dropped)} dropped instead` : "nothing dropped"),
          mistake: dropped.length
            ? "the wrong page: discard's offset and length are bytes, and page N starts at " +
              "byte N × draft.pageSize (the page number used as the offset? off by one?)"
            : "revertPage did nothing: call draft.discard({ offset, length }) on that page",
        });
      }
      if (stillCopy) {
        ctx.fail(`page ${revert} no longer holds your edit, but it is still a private copy`, {
          expected:
            `page ${revert} no longer a copy (absent, or the file's page: pagemap bit 61 set); ` +
            `Anonymous ${kB((edited.length - 1) * ps)}`,
          observed: `bit 61 clear, Anonymous ${kB(atReverted.anonymous)}`,
          mistake: "writing over the page (the file's bytes copied back, or zeros) is a store: " +
            "the page stays a copy, and misses later changes to the file. MADV_DONTNEED " +
            "(draft.discard) drops the copy instead",
        });
      }
      if (lost.length) {
        ctx.fail(`revertPage(draft, ${revert}) also threw away the edits of ${pageList(lost)}`, {
          expected: `only page ${revert} reverted`,
          observed: `${pageList(lost)} lost their edits`,
          mistake:
            "discarding too much: the range is offset page × pageSize, length pageSize (one page)",
        });
      }
      if (dropped.length) {
        ctx.fail(`revertPage(draft, ${revert}) dropped ${pageList(dropped)} too`, {
          expected: `only page ${revert} dropped`,
          observed: `${pageList(dropped)} no longer mapped after revertPage`,
          mistake: "discarding too much: the range is offset page × pageSize, length pageSize " +
            "(one page); on a page that was edited, that would lose the edits",
        });
      }
      if (wrong.length) {
        ctx.fail("after revertPage the draft does not read as expected", {
          expected: `page ${revert} as the file is now, other edited pages with their edits`,
          observed: `${pageList(wrong)} differ`,
        });
      }
      ctx.expectEqual(atReverted.anonymous, (edited.length - 1) * ps, {
        what: "smaps Anonymous after revertPage (bytes)",
        mistake: "the reverted page's copy should be freed: one page less",
      });
      ctx.note(
        `after revertPage(${revert}): page ${revert} ${
          revertPage.present ? "is the file's page again" : "is absent until touched"
        }, Anonymous ${kB(atReverted.anonymous)}; it now reads the file's new bytes`,
      );
    },
  },
  {
    id: "predict-faults",
    title: "your prediction: page faults for the first and the second edit of a page",
    points: 1,
    parent: "copy-on-write",
    hint:
      "The pages were all read before the edits, so each is present. Can a store go through a page the kernel mapped for reading a private mapping?",
    async run(ctx: CheckContext) {
      const run = await runOnce(ctx);
      const value = finished(ctx, run);
      const exported = value.predictions;
      const p1 = requirePrediction(ctx, exported.PREDICTED_FAULTS_FIRST_EDIT ?? undefined, {
        name: "PREDICTED_FAULTS_FIRST_EDIT",
        allowed: "number",
      });
      const p2 = requirePrediction(ctx, exported.PREDICTED_FAULTS_SECOND_EDIT ?? undefined, {
        name: "PREDICTED_FAULTS_SECOND_EDIT",
        allowed: "number",
      });
      const first = fewest(value.firstFaults);
      const second = fewest(value.secondFaults);
      const counts = (v: number[]) => v.join(", ");
      const measured = `faults per edit() call: first edits ${counts(value.firstFaults)} ` +
        `(fewest ${first}), second edits ${counts(value.secondFaults)} (fewest ${second}); ` +
        `Deno's own threads and garbage collector add a fault now and then`;
      if (p1 !== first || p2 !== second) {
        ctx.fail(
          "your prediction differs from what the kernel did: PREDICTED_FAULTS_FIRST_EDIT and " +
            "_SECOND_EDIT. Look at what pagemap showed for an edited page before and after the " +
            'edit (check copy-on-write) and read the lesson\'s last section, "After your predictions"',
          {
            expected: `${first} fault for the first edit of a page, ${second} for the second ` +
              `(${measured})`,
            observed: `you predicted ${p1} and ${p2}`,
            mistake:
              "the page was mapped read-only for the reads, so the first write faults, and " +
              "the kernel copies the page (one fault); after that the page is your own and " +
              "writable, so writing it again is a plain store",
          },
        );
      }
      ctx.note(measured);
      ctx.note(`you predicted ${p1} then ${p2}; the kernel took ${first} then ${second}`);
    },
  },
  {
    id: "predict-file-change",
    title: "your prediction: which pages of the draft show a later change to the file",
    points: 2,
    parent: "copy-on-write",
    hint:
      "Which physical page is an untouched page of the draft (pagemap bit 61), and which page does write() change? And an edited one?",
    async run(ctx: CheckContext) {
      const run = await runOnce(ctx);
      const value = finished(ctx, run);
      const exported = value.predictions;
      const p1 = requirePrediction(
        ctx,
        exported.PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE ?? undefined,
        { name: "PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE", allowed: "boolean" },
      );
      const p2 = requirePrediction(ctx, exported.PREDICTED_EDITED_PAGE_SEES_CHANGE ?? undefined, {
        name: "PREDICTED_EDITED_PAGE_SEES_CHANGE",
        allowed: "boolean",
      });
      // changes: [untouched page, kept edited page, reverted page]
      const untouchedSees = value.seen[0] === run.changeTexts[0];
      const editedSees = value.seen[1] === run.changeTexts[1];
      const [u, k] = run.params.changes;
      const wrote = `the checker wrote ${JSON.stringify(run.changeTexts[0])} into page ` +
        `${u.page} (untouched) and ${JSON.stringify(run.changeTexts[1])} into page ${k.page} ` +
        `(edited); your draft then read ${JSON.stringify(value.seen[0])} and ` +
        `${JSON.stringify(value.seen[1])}`;
      if (p1 !== untouchedSees || p2 !== editedSees) {
        ctx.fail(
          "your prediction differs from what the kernel did: PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE " +
            "and PREDICTED_EDITED_PAGE_SEES_CHANGE. Look at which pages pagemap showed as the " +
            "file's (bit 61) and which as copies (check copy-on-write), and read the lesson's " +
            'last section, "After your predictions"',
          {
            expected: `untouched page sees the change: ${untouchedSees}; edited page: ` +
              `${editedSees} (${wrote})`,
            observed: `you predicted ${p1} and ${p2}`,
            mistake: "a page you never wrote is the file's page-cache page itself, so write() to " +
              "the file shows through (Linux; POSIX leaves it unspecified). A written page is " +
              "your copy, taken at the first write: later changes to the file never reach it",
          },
        );
      }
      ctx.note(wrote);
      ctx.note(
        `you predicted: untouched page sees it ${p1}, edited page ${p2}; ` +
          `observed ${untouchedSees} and ${editedSees}`,
      );
    },
  },
]);
