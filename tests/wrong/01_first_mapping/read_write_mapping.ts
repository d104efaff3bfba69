// A plausible mistake: mapping read-write when the lab only reads.
// expect-fail: maps-lazily /PROT_WRITE/
import { mapFile, type Mapping, sys } from "../../../lib/mod.ts";

export function mapWhole(path: string): Mapping | undefined {
  if (Deno.statSync(path).size === 0) return undefined;
  return mapFile(path, { access: "readwrite" });
}

export function countLines(path: string): number {
  using mapping = mapWhole(path);
  if (mapping === undefined) return 0;
  let lines = 0;
  for (const b of mapping.bytes) if (b === 10) lines++;
  return lines;
}

export function findAll(path: string, word: string): number[] {
  const needle = new TextEncoder().encode(word);
  using mapping = mapWhole(path);
  if (mapping === undefined) return [];
  const bytes = mapping.bytes;
  const found: number[] = [];
  for (let at = 0; at + needle.length <= bytes.length; at++) {
    let i = 0;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) found.push(at);
  }
  return found;
}

export function readWindow(path: string, offset: number, length: number): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  const pageSize = sys.pageSize();
  const base = offset - (offset % pageSize);
  const skip = offset - base;
  using mapping = mapFile(path, { access: "read", offset: base, length: skip + length });
  return mapping.bytes.slice(skip, skip + length);
}

export const PREDICTED_PAGES_AFTER_MAP: number | undefined = 0;
export const PREDICTED_MAPPED_BYTES: number | undefined = 12288;
