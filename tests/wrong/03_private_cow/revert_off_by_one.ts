// A plausible mistake: pages counted from 1, so the page after the right one is dropped.
// expect-fail: revert /off by one|too much/
import { mapFile, type Mapping } from "../../../lib/mod.ts";

export function openDraft(path: string): Mapping {
  return mapFile(path, { mode: "private", access: "readwrite" });
}

export function edit(draft: Mapping, offset: number, text: string): void {
  draft.bytes.set(new TextEncoder().encode(text), offset);
}

export function revertPage(draft: Mapping, page: number): void {
  draft.discard({ offset: (page + 1) * draft.pageSize, length: draft.pageSize });
}

export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = 1;
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = 0;
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = true;
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = false;
