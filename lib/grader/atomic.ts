/**
 * Crash-safe file writes for the grader's outputs (the `--json` and `--csv`
 * files, Gradescope's `results.json`, the journal's header): the new content
 * goes to a temporary file in the same folder, is flushed to disk, and only
 * then replaces the old file with one `rename`. A full disk, a kill or a power
 * cut at any moment leaves either the old file or the new one, whole, never a
 * truncated mix.
 *
 * @module
 */

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * Writes bytes to the temporary file (default: `file.writeSync` until all
   * are written). Tests replace it to simulate a full disk.
   */
  write?: (file: Deno.FsFile, bytes: Uint8Array) => void;
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/**
 * The temporary file {@link writeFileAtomic} writes first: hidden, next to `path`.
 *
 * @example
 * ```ts
 * import { tempPathFor } from "./atomic.ts";
 * console.log(tempPathFor("grades/class.json")); // "grades/.class.json.tmp-<pid>-<random>"
 * ```
 */
export function tempPathFor(path: string): string {
  const slash = path.lastIndexOf("/");
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp-${Deno.pid}-${random}`;
}

/**
 * Flushes a folder's entries to disk (after a rename or a new file in it).
 * Some file systems cannot sync a folder; that is not an error.
 *
 * @example
 * ```ts ignore
 * Deno.renameSync("grades/.class.json.tmp", "grades/class.json");
 * syncFolder("grades");
 * ```
 */
export function syncFolder(dir: string): void {
  let folder: Deno.FsFile | undefined;
  try {
    folder = Deno.openSync(dir, { read: true });
    folder.syncSync();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.NotFound) throw err;
    // EINVAL and the like: the file system does not sync folders.
  } finally {
    folder?.close();
  }
}

/**
 * Replaces `path` with `data`, crash-safely: writes a temporary file in the
 * same folder, fsyncs it, renames it over `path`, fsyncs the folder. On any
 * failure the temporary file is removed, `path` is left as it was, and the
 * error is thrown. The folder must exist. An existing file keeps its mode.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = Deno.makeTempDirSync();
 * writeFileAtomic(`${dir}/class.json`, '{"students": []}\n');
 * console.log(Deno.readTextFileSync(`${dir}/class.json`)); // {"students": []}
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let mode: number | undefined;
  try {
    mode = Deno.statSync(path).mode ?? undefined;
  } catch { /* a new file */ }
  const temp = tempPathFor(path);
  const file = Deno.openSync(temp, {
    write: true,
    createNew: true,
    ...(mode !== undefined ? { mode: mode & 0o7777 } : {}),
  });
  try {
    try {
      (options.write ?? writeAll)(file, bytes);
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(temp, path);
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch { /* already renamed, or never made */ }
    throw err;
  }
  syncFolder(folderOf(path));
}
