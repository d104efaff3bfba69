/**
 * The `.mistake` format, for the tests: it lives in `lib/grader/mistakes.ts`
 * (the grader's self-test reads it too); this module re-exports it.
 *
 * @module
 */

export * from "../lib/grader/mistakes.ts";
