// A plausible mistake: decoding the bytes to a string and searching it. String positions
// count UTF-16 code units, not bytes: wrong as soon as a multi-byte character comes first.
// expect-fail: finds-words /character positions/
import { mapFile, type Mapping, sys } from "../../../lib/mod.ts";

export function mapWhole(path: string): Mapping | undefined {
  if (Deno.statSync(path).size === 0) return undefined;
  return mapFile(path, { access: "read" });
}

export function countLines(path: string): number {
  using mapping = mapWhole(path);
  if (mapping === undefined) return 0;
  let lines = 0;
  for (const b of mapping.bytes) if (b === 10) lines++;
  return lines;
}

export function findAll(path: string, word: string): number[] {
  using mapping = mapWhole(path);
  if (mapping === undefined) return [];
  const text = new TextDecoder().decode(mapping.bytes);
  const found: number[] = [];
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) found.push(at);
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
