/**
 * Everything a lab's checker needs, in one import: the library itself
 * (`lib/mod.ts`: mappings, `/proc` readers, the call record, the constants),
 * how checks and drives are declared, what a child run returns, and the small
 * vocabulary checks share:
 *
 * - predictions: {@link requirePrediction} (one "no prediction yet" for every lab), {@link said};
 * - the call record: {@link callsTo}, {@link succeeded}, {@link hasFlag};
 * - pages: {@link fnv1a}, {@link fingerprint}, {@link pageFingerprints},
 *   {@link differingPages}, {@link hex}, {@link pageList}, {@link kB};
 * - waiting: {@link reach}, {@link within}, {@link until}, {@link sleep},
 *   {@link watchWaiter}, {@link asleepInFutex}, {@link usualState}.
 *
 * @example
 * ```ts ignore
 * // labs/NN_slug/checker/check.ts
 * import { defineChecks, requirePrediction, succeeded } from "../../../lib/checker/mod.ts";
 * export default defineChecks([{
 *   id: "maps-once",
 *   title: "maps the file once",
 *   points: 1,
 *   async run(ctx) {
 *     const result = await ctx.run("drive.ts", { path: ctx.file("a.txt", "hello") });
 *     ctx.expectEqual(succeeded(result.calls, "mmap").length, 1, { what: "mmap calls" });
 *   },
 * }]);
 * ```
 *
 * @module
 */

export * from "../mod.ts";
export {
  type Check,
  type CheckContext,
  CheckFailure,
  type CheckRandom,
  defineChecks,
  type FailureDetails,
  type RunOptions,
} from "./check.ts";
export { defineHiddenChecks } from "./load.ts";
export {
  defineDrive,
  type Drive,
  type DriveContext,
  type Frame,
  MissingExportError,
  snapshot,
  studentExport,
  studentValue,
} from "./drive.ts";
export { ChildHandle, type ChildResult, describeOutcome, type Outcome } from "./spawn.ts";
export type { SerializedError } from "./protocol.ts";
export { diagnoseSegv, type SegvDiagnosis, signalHint } from "./signals.ts";
export type { LabInfo } from "../catalog.ts";
export type { FaultAround, KernelProfile, ReadAround, ScratchInfo } from "../profile.ts";
export {
  type Allowed,
  type Predicted,
  type PredictionSpec,
  requirePrediction,
  said,
} from "./predict.ts";
export { callsTo, type FlagName, hasFlag, succeeded } from "./calls.ts";
export { flightRecorder, readFlight } from "./flight.ts";
export { readAt, witnessWrites, WriteWitness } from "./files.ts";
export {
  differingPages,
  fingerprint,
  fnv1a,
  hex,
  type HexOptions,
  kB,
  pageFingerprints,
  pageList,
} from "./pages.ts";
export {
  asleepInFutex,
  isStopped,
  reach,
  sleep,
  soon,
  timesScheduled,
  until,
  usualState,
  type Waiting,
  type WatchOptions,
  watchWaiter,
  within,
} from "./wait.ts";
