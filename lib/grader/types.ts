/**
 * The data model of a grading run: what `deno task grade` writes as JSON and
 * what every output format (table, CSV, Gradescope, Autolab) is made from.
 *
 * @module
 */

import type { KernelProfile } from "../profile.ts";
import type { CheckOutput } from "../checker/output.ts";

/** One check of a lab, as the instructor's checker declares it. */
export interface CheckMeta {
  /** Stable id, e.g. `"runs"`. */
  id: string;
  /** What it checks. */
  title: string;
  /** Points when it passes. */
  points: number;
  /** Instructor-only: counts in grading, never shown in the student runner. */
  hidden: boolean;
}

/** One lab being graded. */
export interface LabMeta {
  /** Lab id, e.g. `"00_hello_mapping"`. */
  id: string;
  /** Its title. */
  title: string;
  /** The student's file, relative to the lab's folder. */
  file: string;
  /** Points possible (hidden checks included). */
  maxScore: number;
  /** Its checks, in order. */
  checks: CheckMeta[];
  /** Why its checker could not be loaded (a grading problem). */
  error?: string;
}

/** One check's grade for one student. */
export interface CheckGrade {
  /** The check's id. */
  id: string;
  /** Its title. */
  title: string;
  /** Points earned. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** How it ended. */
  status: "passed" | "failed" | "skipped";
  /** Why it failed (empty when passed). */
  message: string;
  /** Expected / observed / likely mistake. */
  details?: { expected?: string; observed?: string; mistake?: string; kernel?: string };
  /** Lines the check reported (predictions vs observations). */
  notes?: string[];
  /** The check's hint. */
  hint?: string;
  /** What the student's code printed in this check (for the student to read; never graded). */
  output?: CheckOutput;
  /** Instructor-only check. */
  hidden: boolean;
  /** The failure was the grader's or checker's, not the student's. */
  internalError?: boolean;
}

/** How one lab of one submission was graded. */
export type LabStatus = "graded" | "missing" | "error";

/** One lab's grade for one student. */
export interface LabGrade {
  /** The lab's id. */
  id: string;
  /** `graded`: checked; `missing`: no file submitted (0 points); `error`: the grader failed. */
  status: LabStatus;
  /** Points earned. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** Where the file was found, relative to the submission folder. */
  file?: string;
  /** The checks, in order (every check, also when missing or not graded). */
  checks: CheckGrade[];
  /** A grading problem (checker did not load, time budget ran out, …). */
  error?: string;
  /** Wall-clock time, ms. */
  durationMs: number;
  /** The kernel that graded it, in one line (`kernelLabel`): facts differ between kernels. */
  kernel?: string;
  /**
   * The student's file is the lab's stub, unchanged (line endings and
   * trailing white space aside): not attempted. It is not run, and every
   * check fails with "not attempted" (0 points, whatever the stub would pass).
   */
  unchanged?: boolean;
}

/** One student's grades. */
export interface StudentGrade {
  /** The submission folder's name. */
  name: string;
  /** The submission folder. */
  submission: string;
  /**
   * `graded`, or `rejected`: the entry is not a submission that can be graded
   * (a file, a symbolic link, a hidden folder, two spellings of one name):
   * every lab `missing`, the reason in `notes`. Absent in files of older
   * graders: graded.
   */
  status?: "graded" | "rejected";
  /** One entry per graded lab, in catalog order. */
  labs: LabGrade[];
  /** Points earned over the graded labs. */
  score: number;
  /** Points possible over the graded labs. */
  maxScore: number;
  /** Things the instructor should know (ignored symlinks, files too large, …). */
  notes: string[];
}

/** Everything a grading run produced: the `--json` file. */
export interface GradeReport {
  /** Marks the file's format. */
  format: "mmap-lab-grades";
  /** The format's version. */
  version: 1;
  /** When grading finished (ISO 8601). */
  gradedAt: string;
  /** The labs graded, in catalog order. */
  labs: LabMeta[];
  /** The students, by name. */
  students: StudentGrade[];
  /** Grading problems (not students' mistakes): non-empty means the exit status is 1. */
  problems: string[];
  /** Wall-clock time of the run, ms. */
  durationMs: number;
  /** The kernel profile of the machine that graded this run (`deno task lab doctor`). */
  kernel?: KernelProfile;
  /**
   * The other outputs written with this file (absolute paths): `--update`
   * writes them again, so that they never go stale.
   */
  outputs?: { csv?: string };
}
