// A plausible mistake: zeroing fresh memory by hand, as with malloc. It is already zero, and
// writing zeros touches every page, so every page becomes resident.
// expect-fail: allocate-lazy /already zero-filled/
import {
  mapAnonymous,
  mapDescriptor,
  mapFile,
  type Mapping,
  resizeFile,
  sys,
} from "../../../lib/mod.ts";

export function allocate(size: number): Mapping {
  const memory = mapAnonymous(size);
  memory.bytes.fill(0);
  return memory;
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
  const fd = sys.memfdCreate("lab04");
  sys.ftruncate(fd, size);
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
