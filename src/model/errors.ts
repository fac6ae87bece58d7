// Errors about the user's input: always a file, line, column and field path, never a stack trace.
import type { SourceRef } from './k8s.js';

export interface InputProblem {
  file: string;
  line?: number;
  col?: number;
  /** Field path inside the object, e.g. `spec.ports[0].port`. */
  field?: string;
  /** The object, e.g. `Service default/my-app`. */
  object?: string;
  message: string;
}

export class InputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }
}

export function formatProblem(p: InputProblem): string {
  const where = [p.file, p.line, p.col].filter((x) => x !== undefined).join(':');
  const what = [p.object, p.field].filter(Boolean).join(' ');
  return `${where}: ${what ? `${what}: ` : ''}${p.message}`;
}

/** The problem located at a field of an object, falling back to the object's own position. */
export function problemAt(
  source: SourceRef | undefined,
  field: string | undefined,
  message: string,
  object?: string,
): InputProblem {
  const pos = field ? (source?.fields?.get(field) ?? nearestParent(source, field)) : undefined;
  return {
    file: source?.file ?? '<input>',
    line: pos?.line ?? source?.line,
    col: pos?.col ?? source?.col,
    field,
    object,
    message,
  };
}

function nearestParent(source: SourceRef | undefined, field: string) {
  if (!source?.fields) return undefined;
  let f = field;
  while (f) {
    const cut = Math.max(f.lastIndexOf('.'), f.lastIndexOf('['));
    if (cut <= 0) return undefined;
    f = f.slice(0, cut);
    const p = source.fields.get(f);
    if (p) return p;
  }
  return undefined;
}

/** A name the user gave (a node, a pod) that the cluster does not have. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** Something the input asks for that kpath does not model yet: said plainly, never guessed. */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}
