/**
 * # Lab 03: Private mapping and copy-on-write
 *
 * Scenario: a big data file is shared by everyone on the machine. You want a
 * **draft**: a version of it you can change in memory to try something out,
 * while the file, and every other process reading it, keep the original.
 * Copying the whole file into memory would cost one page of RAM per page of
 * file. A private mapping (`MAP_PRIVATE`) costs nothing until you write: the
 * kernel hands you the file's own page-cache pages, and copies a page only
 * the first time you write to it ("copy-on-write").
 *
 * Your tasks (the README explains each):
 * 1. `openDraft(path)`: map the whole file **private** and **writable**.
 * 2. `edit(draft, offset, text)`: write the text into the draft.
 * 3. `revertPage(draft, page)`: throw away the edits of one page, so that it
 *    shows the file again, without copying anything.
 * 4. Predict, before you run the checks, what the kernel will do (the
 *    `PREDICTED_…` constants at the end). The checker shows your prediction
 *    next to what the kernel did.
 *
 * Read: `man 2 mmap` (MAP_PRIVATE, and the NOTES on what happens when the
 * file changes), `man 2 madvise` (MADV_DONTNEED), and `mapFile`,
 * `Mapping.discard` in `lib/mapping.ts`.
 *
 * The checker reads the file itself, and reads `/proc/<pid>/pagemap` and
 * `/proc/<pid>/smaps` of the process running your code while your draft is
 * mapped: it sees which pages are the file's and which are your copies.
 * `deno task lab show 03` draws them.
 *
 * @module
 */

import { mapFile, type Mapping } from "../../lib/mod.ts";

/**
 * Maps the whole file at `path` as a private, writable draft. Writes to the
 * draft must never reach the file.
 *
 * @param path the file to map (it exists and is not empty)
 * @returns the mapping; the caller unmaps it
 */
export function openDraft(path: string): Mapping {
  // TODO: map the file with mapFile(): private (mode) and writable (access).
  // Do not pre-fault it (no populate: find out in the README why).
  void mapFile;
  throw new Error(`openDraft(${path}) is not written yet: see the TODO in private_copy.ts`);
}

/**
 * Writes `text`, encoded as UTF-8, into the draft at byte `offset` (relative
 * to the start of the draft). The text fits inside one page.
 */
export function edit(draft: Mapping, offset: number, text: string): void {
  // TODO: encode the text and copy the bytes into draft.bytes at `offset`.
  void draft;
  void offset;
  void text;
}

/**
 * Throws away every edit made to page `page` of the draft (page 0 is the
 * first `draft.pageSize` bytes): afterwards that page reads as the file does
 * now, and holds no private copy any more. Other pages keep their edits.
 */
export function revertPage(draft: Mapping, page: number): void {
  // TODO: drop this one page of the draft with draft.discard({ offset, length }),
  // both in bytes. Do not write anything back (the file's bytes, or zeros):
  // a store into the page would keep (or make) a copy.
  void draft;
  void page;
}

// ---------------------------------------------------------------------------
// Predict, then observe. Replace each `undefined` with your prediction before
// running the checks; the checker compares it with what the kernel did.

/**
 * The checker reads every page of your draft, then calls `edit()` once on
 * each of a few pages, then edits those pages again. How many page faults
 * does the first edit of a page cost? (A number.)
 */
export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = undefined; // TODO: predict

/** …and how many does the second edit of the same page cost? (A number.) */
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = undefined; // TODO: predict

/**
 * While your draft is mapped, another process writes new bytes into the
 * file (with `write()`). Does your draft show them on a page you never
 * edited? (true or false)
 */
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = undefined; // TODO: predict

/** …and on a page you edited (at bytes you did not edit)? (true or false) */
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = undefined; // TODO: predict
