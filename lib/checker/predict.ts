/**
 * Predict, then observe: the one way a check asks for a student's
 * prediction. While the prediction is missing (or not of the kind asked
 * for), the check fails with one phrasing in every lab, and the runner
 * withholds its notes, so what the kernel did cannot be copied into the
 * prediction. Comparing the prediction with the observation, and explaining
 * a difference, stays with each check: the explanation is the lesson.
 *
 * @module
 */

import type { CheckContext } from "./check.ts";

/** The kinds of prediction a check may ask for: a type, or the allowed answers. */
export type Allowed = "number" | "boolean" | "string" | readonly (string | number | boolean)[];

/** The value {@link requirePrediction} returns for what was allowed. */
export type Predicted<A extends Allowed> = A extends "number" ? number
  : A extends "boolean" ? boolean
  : A extends "string" ? string
  : A extends readonly (infer T)[] ? T
  : never;

/** What a prediction is called and what it may be. */
export interface PredictionSpec<A extends Allowed> {
  /** The exported name the student sets, e.g. `"PREDICTED_SIGNAL"`. */
  name: string;
  /** `"number"` (a finite one), `"boolean"`, `"string"`, or the list of allowed answers. */
  allowed: A;
  /** What to put there, in words, when the type alone says too little (`a signal name such as "SIGBUS"`). */
  describe?: string;
}

/**
 * A prediction as the student wrote it, or `undefined` (shown as such).
 *
 * @example
 * ```ts
 * console.log(said(undefined), said("zeros"), said(3)); // undefined "zeros" 3
 * ```
 */
export function said(value: unknown): string {
  return value === undefined || value === null ? "undefined" : JSON.stringify(value);
}

function words(allowed: Allowed): string {
  if (allowed === "number") return "a number";
  if (allowed === "boolean") return "true or false";
  if (allowed === "string") return "a string";
  const answers = allowed.map((a) => JSON.stringify(a));
  return answers.length > 1
    ? `${answers.slice(0, -1).join(", ")} or ${answers.at(-1)}`
    : answers.join("");
}

function fits(value: unknown, allowed: Allowed): boolean {
  if (allowed === "number") return typeof value === "number" && Number.isFinite(value);
  if (allowed === "boolean") return typeof value === "boolean";
  if (allowed === "string") return typeof value === "string";
  return allowed.includes(value as string | number | boolean);
}

/**
 * The student's prediction `value`, checked to be what `spec.allowed` says;
 * otherwise fails the check with "no prediction yet" (`awaitingPrediction`:
 * the runner withholds the check's notes until the prediction is in).
 *
 * @example
 * ```ts ignore
 * const predicted = requirePrediction(ctx, run.predictions.PREDICTED_SIGNAL, {
 *   name: "PREDICTED_SIGNAL",
 *   allowed: "string",
 *   describe: 'a signal name such as "SIGSEGV"',
 * });
 * if (predicted !== crashed.signal) ctx.fail("your prediction differs …", { … });
 * ```
 */
export function requirePrediction<const A extends Allowed>(
  ctx: Pick<CheckContext, "fail">,
  value: unknown,
  spec: PredictionSpec<A>,
): Predicted<A> {
  if (!fits(value, spec.allowed)) {
    ctx.fail("no prediction yet", {
      awaitingPrediction: true,
      expected: `${spec.describe ?? words(spec.allowed)} in ${spec.name}`,
      observed: said(value),
      mistake: "predict first, then run the checks",
    });
  }
  return value as Predicted<A>;
}
