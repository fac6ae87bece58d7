// The checks the API server's validation makes on single fields, each producing one message that
// names the field, what it holds and what it should hold.
import { type InputProblem, problemAt } from '../model/errors.js';
import type { Position, SourceRef } from '../model/k8s.js';
import { type Family, IPAddr, Prefix } from '../net/ip.js';
import { childPath, isRecord } from './parse.js';

/** The problems found in one object (or the cluster document). */
export class Findings {
  readonly problems: InputProblem[] = [];
  constructor(
    readonly source: SourceRef | undefined,
    readonly object: string | undefined,
    readonly keys?: ReadonlyMap<string, Position>,
  ) {}

  add(field: string | undefined, message: string): void {
    this.problems.push(problemAt(this.source, field, message, this.object));
  }

  /** A problem with the key itself (an unknown field), located at the key rather than its value. */
  addAtKey(field: string, message: string): void {
    const p = problemAt(this.source, field, message, this.object);
    const k = this.keys?.get(field);
    this.problems.push(k ? { ...p, line: k.line, col: k.col } : p);
  }
}

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  return String(v);
}

export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  return `${typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : 'a string'} (${show(v)})`;
}

/** kubectl's YAML 1.1 turns unquoted y/n/yes/no/on/off into booleans; say so where it bites. */
export const YES_NO = '; unquoted yes/no/on/off/y/n are booleans in YAML 1.1 (as kubectl reads it), quote it';

/** A string field; reports and returns undefined otherwise. Absent is fine. */
export function str(f: Findings, v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    f.add(path, `must be a string, found ${kindOf(v)}${typeof v === 'boolean' ? YES_NO : ''}`);
    return undefined;
  }
  return v;
}

export function list(f: Findings, v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    f.add(path, `must be a list, found ${kindOf(v)}`);
    return [];
  }
  return v;
}

export function record(f: Findings, v: unknown, path: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) {
    f.add(path, `must be a mapping, found ${kindOf(v)}`);
    return undefined;
  }
  return v;
}

export function ip(f: Findings, v: unknown, path: string, family?: Family): IPAddr | undefined {
  const s = str(f, v, path);
  if (s === undefined) return undefined;
  const a = IPAddr.tryParse(s);
  if (!a || s.trim() !== s) {
    f.add(path, `invalid IP address ${show(s)}`);
    return undefined;
  }
  if (family && a.family !== family) {
    f.add(path, `${show(s)} is not an IPv${family} address`);
    return undefined;
  }
  return a;
}

/** A CIDR as Go's net.ParseCIDR takes it: address, slash, length. */
export function cidr(f: Findings, v: unknown, path: string): Prefix | undefined {
  const s = str(f, v, path);
  if (s === undefined) return undefined;
  const p = s.includes('/') ? Prefix.tryParse(s) : undefined;
  if (!p || s.trim() !== s) {
    f.add(path, `invalid CIDR ${show(s)} (expected address/length, e.g. 10.244.0.0/16)`);
    return undefined;
  }
  return p;
}

export function int(f: Findings, v: unknown, path: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    f.add(path, `must be a whole number, found ${kindOf(v)}`);
    return undefined;
  }
  if (v < min || v > max) {
    f.add(path, `must be between ${min} and ${max}, found ${v}`);
    return undefined;
  }
  return v;
}

export function port(f: Findings, v: unknown, path: string): number | undefined {
  return int(f, v, path, 1, 65535);
}

export function bool(f: Findings, v: unknown, path: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    f.add(path, `must be true or false, found ${kindOf(v)}`);
    return undefined;
  }
  return v;
}

export function oneOf<T extends string>(
  f: Findings,
  v: unknown,
  path: string,
  allowed: readonly T[],
): T | undefined {
  const s = str(f, v, path);
  if (s === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(s)) {
    f.add(path, `unsupported value ${show(s)}: must be one of ${allowed.join(', ')}`);
    return undefined;
  }
  return s as T;
}

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

export function protocol(f: Findings, v: unknown, path: string): void {
  oneOf(f, v, path, PROTOCOLS);
}

/** Labels, selectors, nodeSelector, annotations: a map whose values are strings (`version: 1` is not). */
export function stringMap(f: Findings, v: unknown, path: string, what = 'value'): void {
  if (v === undefined || v === null) return;
  if (!isRecord(v)) {
    f.add(path, `must be a map of strings, found ${kindOf(v)}`);
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') {
      f.add(childPath(path, k), `${what} must be a string, found ${kindOf(val)}; quote it`);
    }
  }
}

const SELECTOR_OPS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** metav1.LabelSelector: matchLabels and matchExpressions. */
export function labelSelector(f: Findings, v: unknown, path: string): void {
  const sel = record(f, v, path);
  if (!sel) return;
  stringMap(f, sel.matchLabels, childPath(path, 'matchLabels'), 'label value');
  list(f, sel.matchExpressions, childPath(path, 'matchExpressions')).forEach((e, i) => {
    const p = childPath(childPath(path, 'matchExpressions'), i);
    const r = record(f, e, p);
    if (!r) return;
    str(f, r.key, childPath(p, 'key'));
    const op = oneOf(f, r.operator, childPath(p, 'operator'), SELECTOR_OPS);
    const values = list(f, r.values, childPath(p, 'values'));
    values.forEach((x, j) => {
      str(f, x, childPath(childPath(p, 'values'), j));
    });
    if ((op === 'In' || op === 'NotIn') && values.length === 0) {
      f.add(childPath(p, 'values'), `must not be empty when operator is ${op}`);
    }
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
      f.add(childPath(p, 'values'), `must be empty when operator is ${op}`);
    }
  });
}

/** An RFC 1123 DNS subdomain (as `hostname` or an FQDN endpoint). */
export function isDNSName(s: string): boolean {
  return (
    s.length > 0 &&
    s.length <= 253 &&
    s.split('.').every((l) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(l))
  );
}

/** IANA_SVC_NAME: a named port (targetPort: http). */
export function isPortName(s: string): boolean {
  return s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

/** Runs a check on every item of a list field, with the item's path. */
export function each(
  f: Findings,
  v: unknown,
  path: string,
  check: (item: unknown, itemPath: string) => unknown,
): void {
  list(f, v, path).forEach((item, i) => {
    check(item, childPath(path, i));
  });
}
