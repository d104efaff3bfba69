// A plausible belief: "private means the file's later changes never show" and "every write
// faults". Correct code, wrong predictions.
// expect-fail: predict-faults /differs from what the kernel did/
// expect-fail: predict-file-change /differs from what the kernel did/
import { mapFile, type Mapping } from "../../../lib/mod.ts";

export function openDraft(path: string): Mapping {
  return mapFile(path, { mode: "private", access: "readwrite" });
}

export function edit(draft: Mapping, offset: number, text: string): void {
  draft.bytes.set(new TextEncoder().encode(text), offset);
}

export function revertPage(draft: Mapping, page: number): void {
  draft.discard({ offset: page * draft.pageSize, length: draft.pageSize });
}

export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = 1;
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = 1;
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = false;
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = false;
