// What the control plane found wrong with its input: fatal problems (collected, then thrown
// together as one InputError) and warnings a user should read.
import { InputError, type InputProblem, problemAt } from '../model/errors.js';
import { objectKey, type SourceRef } from '../model/k8s.js';

export interface Findings {
  problems: InputProblem[];
  warnings: string[];
  sources: ReadonlyMap<string, SourceRef>;
}

interface Named {
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** `Service default/my-app`, as errors name objects. */
export function describe(o: Named): string {
  return o.metadata.namespace
    ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`
    : `${o.kind} ${o.metadata.name}`;
}

/** Records a problem at `field` of `o`, located through the input's source map. */
export function problem(f: Findings, o: Named, field: string | undefined, message: string): void {
  f.problems.push(problemAt(f.sources.get(objectKey(o)), field, message, describe(o)));
}

/** Throws the problems found so far, if any. */
export function throwIfProblems(f: Findings): void {
  if (f.problems.length > 0) throw new InputError(f.problems);
}
