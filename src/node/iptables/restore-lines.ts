// An iptables-restore payload held as its lines, where the agent writing it may hand over its hottest
// lines pre-split — a chain line by its name, kube-proxy's four per-endpoint rule shapes by their
// values — instead of as text. The text is the same either way (text() writes each line exactly as
// the writer would have), and applyRestore stores the same rules either way: a pre-split line whose
// values the fast path would not take is read from its text. A 10,000-service node's payload then
// costs no 33 MB string to build and no 440k lines to cut and scan again.

import { LineBuffer } from './line-buffer.js';

const TEXT = 0;
const CHAIN = 1;
const JUMP = 2;
const STATISTIC = 3;
const MASQ = 4;
const DNAT = 5;

/** What a line is: its text, or which pre-split form (see RestoreLines' methods). */
export type RestoreLineKind =
  | typeof TEXT
  | typeof CHAIN
  | typeof JUMP
  | typeof STATISTIC
  | typeof MASQ
  | typeof DNAT;

export const RESTORE_LINE = { TEXT, CHAIN, JUMP, STATISTIC, MASQ, DNAT } as const;

/**
 * The lines of a payload, in order. Held as parallel arrays of the strings the writer already has
 * (chain names, addresses, probabilities), so a line costs a few array slots, not a string of its own.
 */
export class RestoreLines {
  #kind: RestoreLineKind[] = [];
  #a: string[] = [];
  #b: string[] = [];
  #c: string[] = [];

  /** The lines of every part, in order (each part's arrays copied whole, not line by line). */
  static join(parts: readonly (RestoreLines | string)[]): RestoreLines {
    const out = new RestoreLines();
    const all = parts.map((p) => {
      if (typeof p !== 'string') return p;
      const one = new RestoreLines();
      one.line(p);
      return one;
    });
    out.#kind = out.#kind.concat(...all.map((p) => p.#kind));
    out.#a = out.#a.concat(...all.map((p) => p.#a));
    out.#b = out.#b.concat(...all.map((p) => p.#b));
    out.#c = out.#c.concat(...all.map((p) => p.#c));
    return out;
  }

  #push(kind: RestoreLineKind, a: string, b: string, c: string): void {
    this.#kind.push(kind);
    this.#a.push(a);
    this.#b.push(b);
    this.#c.push(c);
  }

  /** A line as text (without its newline). */
  line(text: string): void {
    this.#push(TEXT, text, '', '');
  }

  /** `:NAME - [0:0]` */
  chain(name: string): void {
    this.#push(CHAIN, name, '', '');
  }

  /** `-A CHAIN -j TARGET` */
  jump(chain: string, target: string): void {
    this.#push(JUMP, chain, target, '');
  }

  /** `-A CHAIN -m statistic --mode random --probability P -j TARGET` */
  statistic(chain: string, probability: string, target: string): void {
    this.#push(STATISTIC, chain, target, probability);
  }

  /** `-A CHAIN -s IP -j TARGET` */
  masq(chain: string, ip: string, target: string): void {
    this.#push(MASQ, chain, target, ip);
  }

  /** `-A CHAIN -m P -p P -j DNAT --to-destination TO` */
  dnat(chain: string, protocol: string, to: string): void {
    this.#push(DNAT, chain, protocol, to);
  }

  /** The four columns, for a reader walking every line (applyRestore); not to be changed. */
  columns(): {
    readonly kind: readonly RestoreLineKind[];
    readonly a: readonly string[];
    readonly b: readonly string[];
    readonly c: readonly string[];
  } {
    return { kind: this.#kind, a: this.#a, b: this.#b, c: this.#c };
  }

  get length(): number {
    return this.#kind.length;
  }

  kind(i: number): RestoreLineKind {
    return this.#kind[i] as RestoreLineKind;
  }

  /** The line's first value: its text (TEXT) or its chain (every other kind). */
  a(i: number): string {
    return this.#a[i] as string;
  }

  /** JUMP, STATISTIC, MASQ: the target; DNAT: the protocol. */
  b(i: number): string {
    return this.#b[i] as string;
  }

  /** STATISTIC: the probability; MASQ: the address; DNAT: the destination. */
  c(i: number): string {
    return this.#c[i] as string;
  }

  /** Line i as text, exactly as the writer would have written it. */
  text(i: number): string {
    const a = this.#a[i] as string;
    const b = this.#b[i] as string;
    const c = this.#c[i] as string;
    switch (this.#kind[i]) {
      case CHAIN:
        return `:${a} - [0:0]`;
      case JUMP:
        return `-A ${a} -j ${b}`;
      case STATISTIC:
        return `-A ${a} -m statistic --mode random --probability ${c} -j ${b}`;
      case MASQ:
        return `-A ${a} -s ${c} -j ${b}`;
      case DNAT:
        return `-A ${a} -m ${b} -p ${b} -j DNAT --to-destination ${c}`;
      default:
        return a;
    }
  }

  /** The whole payload: every line followed by a newline. */
  toString(): string {
    const out = new LineBuffer();
    for (let i = 0; i < this.#kind.length; i++) out.push(this.text(i));
    return out.text();
  }
}
