// A plausible mistake: sharing through a file on disk instead of memory with no file.
// expect-fail: shared-no-file /a file on disk/
import {
  mapAnonymous,
  mapDescriptor,
  mapFile,
  type Mapping,
  resizeFile,
  sys,
} from "../../../lib/mod.ts";

export function allocate(size: number): Mapping {
  return mapAnonymous(size);
}

export function release(memory: Mapping, first: number, count: number): void {
  memory.discard({ offset: first * memory.pageSize, length: count * memory.pageSize });
}

export interface SharedRegion {
  memory: Mapping;
  fd: number;
  path: string;
}

export function createShared(size: number): SharedRegion {
  const path = `${Deno.cwd()}/shared.bin`;
  resizeFile(path, size);
  const fd = sys.open(path, 2);
  const memory = mapDescriptor(fd, { access: "readwrite" });
  return { memory, fd, path: `/proc/${Deno.pid}/fd/${fd}` };
}

export function attachShared(path: string): Mapping {
  return mapFile(path, { access: "readwrite" });
}

export function closeShared(region: SharedRegion): void {
  region.memory.unmap();
  sys.close(region.fd);
}

export const PREDICTED_RESIDENT_AFTER_READING: "none" | "some" | "all" | undefined = "none";
export const PREDICTED_SHARED_AFTER_RELEASE: "zeros" | "data" | undefined = "data";
void resizeFile;
