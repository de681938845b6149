/**
 * One step of the suite as a function, so that an action's entry (one
 * step) and the root action (setup, build-world, build-live and
 * verify-manifest in one process, docs/actions.md) run the same code: a
 * step reads its inputs and sets its outputs through a StepIo, and returns
 * the message that fails it instead of failing the process itself.
 */
import * as core from '@actions/core';
import { runnerInput, type InputReader } from './inputs.js';

export interface StepIo {
  input: InputReader;
  output: (name: string, value: string) => void;
}

/** A step run by the runner: its own inputs and outputs. */
export const RUNNER_IO: StepIo = {
  input: runnerInput,
  output: (name, value) => core.setOutput(name, value),
};

/** How a step ended: `failure` is the message that fails it (the verdict, printed last). */
export interface StepEnd {
  failure?: string;
}

/** Fails the process's step with the step's verdict, if it failed. */
export function finishStep(end: StepEnd): void {
  if (end.failure !== undefined) core.setFailed(end.failure);
}
