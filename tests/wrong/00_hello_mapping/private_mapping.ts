// A plausible mistake: a private mapping. The writes stay in this process.
// expect-fail: file-holds-message /MAP_PRIVATE/
import { mapFile } from "../../../lib/mod.ts";

export function writeMessage(path: string, message: string): void {
  using mapping = mapFile(path, { access: "readwrite", mode: "private" });
  mapping.bytes.set(new TextEncoder().encode(message), 0);
}
