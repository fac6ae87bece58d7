// How errors reach the user: input problems as file:line:col lines and exit 2; anything else as one line
// (the stack only with KPATH_DEBUG=1).
import { InputError, NotFoundError, UnsupportedError } from '../model/errors.js';

export function reportError(err: unknown): number {
  if (err instanceof InputError) {
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (err instanceof UsageError || err instanceof NotFoundError || err instanceof UnsupportedError) {
    process.stderr.write(`kpath: ${err.message}\n`);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kpath: internal error: ${message}\n`);
  if (process.env.KPATH_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

/** A command used wrongly (unknown node, bad argument): one sentence, exit 2. */
export class UsageError extends Error {}
