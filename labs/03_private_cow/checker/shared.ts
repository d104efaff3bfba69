/** Shared by lab 03's checker and drives: what the checker asks for, and what the drives see. */

/** One edit the drive asks the student's `edit()` to make. */
export interface Edit {
  /** Page of the draft. */
  page: number;
  /** Byte offset inside that page. */
  offset: number;
  /** ASCII text, shorter than half a page. */
  text: string;
}

/** Parameters of lab 03's drive. */
export interface DriveParams {
  /** The file to open as a draft. */
  path: string;
  /** The edits, one per edited page. */
  edits: Edit[];
  /** Where the checker will write new bytes into the file while the draft is mapped. */
  changes: { page: number; offset: number; length: number }[];
  /** The page to revert. */
  revert: number;
}

/** One page as /proc/PID/pagemap shows it (the frame as hex, or null when the kernel hides it). */
export interface PageLook {
  present: boolean;
  fileOrShared: boolean;
  exclusive: boolean;
  frame: string | null;
}

/** The kernel's view of the draft at one checkpoint, read by the inspector child. */
export interface Look {
  pages: PageLook[];
  /** smaps `Anonymous` of the draft, bytes. */
  anonymous: number;
}

/**
 * The kernel's own fault count for one kind of call, from several measurements: Deno adds a
 * fault now and then (a fresh heap page, the garbage collector), never takes one away, so the
 * fewest seen is the honest count.
 */
export function fewest(values: number[]): number {
  return Math.min(...values);
}
