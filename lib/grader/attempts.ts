/**
 * Telling "not attempted" from "attempted and failed": a student's lab file
 * that is the lab's stub, unchanged (line endings and trailing white space
 * aside).
 *
 * @module
 */

function normalize(text: string): string {
  return text.replace(/\r\n?/g, "\n").split("\n").map((l) => l.trimEnd()).join("\n").trimEnd();
}

/**
 * Whether `student` (a file's text) is `stub` unchanged.
 *
 * @example
 * ```ts
 * console.log(sameAsStub("a  \r\nb\n\n", "a\nb"), sameAsStub("a\nc", "a\nb")); // true false
 * ```
 */
export function sameAsStub(student: string, stub: string): boolean {
  return normalize(student) === normalize(stub);
}

/**
 * A reader of the stubs of an instructor's tree, each read once: whether the
 * file at `path` is the stub of lab `labId` (file `file`), unchanged. False
 * when either cannot be read.
 *
 * @example
 * ```ts ignore
 * const isStub = stubChecker(PROJECT_ROOT);
 * isStub("00_hello_mapping", "hello.ts", "/subs/alice/hello.ts");
 * ```
 */
export function stubChecker(root: string): (labId: string, file: string, path: string) => boolean {
  const stubs = new Map<string, string | undefined>();
  return (labId, file, path) => {
    if (!stubs.has(labId)) {
      try {
        stubs.set(labId, Deno.readTextFileSync(`${root}/labs/${labId}/${file}`));
      } catch {
        stubs.set(labId, undefined);
      }
    }
    const stub = stubs.get(labId);
    if (stub === undefined) return false;
    try {
      return sameAsStub(Deno.readTextFileSync(path), stub);
    } catch {
      return false;
    }
  };
}
