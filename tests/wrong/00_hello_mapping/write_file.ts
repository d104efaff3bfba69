// A plausible mistake: writing the file with write() instead of through memory.
// expect-fail: through-mapping /instead of through memory/
export function writeMessage(path: string, message: string): void {
  Deno.writeTextFileSync(path, message);
}
