// A plausible mistake: reverting by copying the file's bytes back. The page reads right, but it
// is still a private copy (written again), and it will miss later changes to the file.
// expect-fail: revert /still a private copy/
import { mapFile, type Mapping } from "../../../lib/mod.ts";

export function openDraft(path: string): Mapping {
  return mapFile(path, { mode: "private", access: "readwrite" });
}

export function edit(draft: Mapping, offset: number, text: string): void {
  draft.bytes.set(new TextEncoder().encode(text), offset);
}

export function revertPage(draft: Mapping, page: number): void {
  const file = Deno.readFileSync(draft.source.path!);
  const start = page * draft.pageSize;
  draft.bytes.set(file.subarray(start, start + draft.pageSize), start);
}

export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = 1;
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = 0;
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = true;
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = false;
