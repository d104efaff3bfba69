/**
 * # Lab 03: Private mapping and copy-on-write (reference solution)
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
  // MAP_PRIVATE + PROT_READ|PROT_WRITE. The file is opened read-only: a
  // private mapping never writes to it, so it needs no write permission.
  // No MAP_POPULATE: on a private *writable* mapping it pre-faults every page
  // for writing, which copies every page at once and defeats copy-on-write.
  return mapFile(path, { mode: "private", access: "readwrite" });
}

/**
 * Writes `text`, encoded as UTF-8, into the draft at byte `offset` (relative
 * to the start of the draft). The text fits inside one page.
 */
export function edit(draft: Mapping, offset: number, text: string): void {
  // The first store to a page faults: the kernel copies the page-cache page
  // into a fresh page of this process's own and maps that one instead. Later
  // stores to the same page cost nothing.
  draft.bytes.set(new TextEncoder().encode(text), offset);
}

/**
 * Throws away every edit made to page `page` of the draft (page 0 is the
 * first `draft.pageSize` bytes): afterwards that page reads as the file does
 * now, and holds no private copy any more. Other pages keep their edits.
 */
export function revertPage(draft: Mapping, page: number): void {
  // MADV_DONTNEED frees the private copy. The next access faults the file's
  // page-cache page back in, with whatever the file holds by then.
  draft.discard({ offset: page * draft.pageSize, length: draft.pageSize });
}

// A page fault copies the page on the first write; the page is then this
// process's own and writable, so the second write is an ordinary store.
export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = 1;
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = 0;

// An unedited page of a private mapping is still the page-cache page, so a
// write() to the file shows through (Linux behaviour; POSIX leaves it
// unspecified). An edited page is a copy taken at the first write: later
// changes to the file never reach it.
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = true;
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = false;
