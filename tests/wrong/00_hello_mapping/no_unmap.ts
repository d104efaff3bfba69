// A plausible mistake: forgetting to unmap.
// expect-fail: through-mapping /forgetting munmap/
import { mapFile } from "../../../lib/mod.ts";

export function writeMessage(path: string, message: string): void {
  const mapping = mapFile(path, { access: "readwrite" });
  mapping.bytes.set(new TextEncoder().encode(message), 0);
}
