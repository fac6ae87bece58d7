// A stored rule of a known shape that differs from its neighbours in one value: kube-proxy's 300k
// KUBE-SVC → KUBE-SEP jumps, hairpin `-s` and DNAT rules. It keeps the shape (shared) and the value,
// so a 10,000-service node holds one small object per rule; the iptables-save text is the shape's text
// around the value, and the options (the Rule contract every reader uses) are built on first read.
import type { Rule, RuleOption } from './types.js';

/** The stored form of every rule of one shape: its text and options around the one value that varies. */
export interface RuleShape {
  /** iptables-save text before the value (after `-A CHAIN `). */
  readonly before: string;
  /** iptables-save text after the value. */
  readonly after: string;
  /** The rule's `-j` target when it is fixed by the shape; otherwise the value is the target chain. */
  readonly target?: string;
  /** The stored options for a value (only called when a reader asks for them). */
  options(value: string): RuleOption[];
}

// `options` is an own enumerable accessor (one shared getter): readers that spread, serialise or
// deep-compare a rule see `{ options }` exactly as for a plain Rule.
const OPTIONS: PropertyDescriptor = {
  enumerable: true,
  configurable: false,
  get(this: ShapedRule): readonly RuleOption[] {
    return this.materialise();
  },
};

export class ShapedRule implements Rule {
  declare readonly options: readonly RuleOption[];
  readonly #shape: RuleShape;
  readonly #value: string;
  #options: readonly RuleOption[] | undefined;

  constructor(shape: RuleShape, value: string) {
    this.#shape = shape;
    this.#value = value;
    this.#options = undefined;
    Object.defineProperty(this, 'options', OPTIONS);
  }

  materialise(): readonly RuleOption[] {
    this.#options ??= this.#shape.options(this.#value);
    return this.#options;
  }

  /** The `-j` target name, without building the options. */
  get target(): string {
    return this.#shape.target ?? this.#value;
  }

  /** The rule's text after `-A CHAIN `, as formatRule prints its options. */
  get text(): string {
    const s = this.#shape;
    return s.before + this.#value + s.after;
  }
}
