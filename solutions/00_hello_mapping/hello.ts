/**
 * # Lab 00: Hello, mapping (reference solution)
 *
 * @module
 */

import { mapFile } from "../../lib/mod.ts";

/**
 * Writes `message` at the start of the file at `path`, through a shared
 * mapping. The file already has room for the message.
 */
export function writeMessage(path: string, message: string): void {
  const bytes = new TextEncoder().encode(message);
  // MAP_SHARED + PROT_READ|PROT_WRITE: stores into `mapping.bytes` are stores
  // into the file's page-cache pages, which every reader of the file sees.
  using mapping = mapFile(path, { access: "readwrite" });
  mapping.bytes.set(bytes, 0);
  // No msync needed for other processes to see it; `using` unmaps here.
}
