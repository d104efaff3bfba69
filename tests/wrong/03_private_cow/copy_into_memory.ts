// A plausible mistake: copying the whole file into fresh anonymous memory instead of mapping it.
// expect-fail: private-draft /anonymous memory holding a copy/
import { mapAnonymous, mapFile, type Mapping } from "../../../lib/mod.ts";

export function openDraft(path: string): Mapping {
  using file = mapFile(path);
  const copy = mapAnonymous(file.length);
  copy.bytes.set(file.bytes);
  return copy;
}

export function edit(draft: Mapping, offset: number, text: string): void {
  draft.bytes.set(new TextEncoder().encode(text), offset);
}

export function revertPage(draft: Mapping, page: number): void {
  draft.discard({ offset: page * draft.pageSize, length: draft.pageSize });
}

export const PREDICTED_FAULTS_FIRST_EDIT: number | undefined = 1;
export const PREDICTED_FAULTS_SECOND_EDIT: number | undefined = 0;
export const PREDICTED_UNTOUCHED_PAGE_SEES_CHANGE: boolean | undefined = true;
export const PREDICTED_EDITED_PAGE_SEES_CHANGE: boolean | undefined = false;
