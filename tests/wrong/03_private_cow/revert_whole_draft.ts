// A plausible mistake: discard() without a range drops every page, and every edit with it.
// expect-fail: revert /discarding too much/
import { mapFile, type Mapping } from "../../../lib/mod.ts";

export function openDraft(path: string): Mapping {
  return mapFile(path, { mode: "private", access: "readwrite" });
}

export function edit(draft: Mapping, offset: number, text: string): void {
  draft.bytes.set(new TextEncoder().encode(text), offset);
}

export function revertPage(draft: Mapping, _page: number): void {
  draft.discard();
}

export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = 1;
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = 0;
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = true;
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = false;
