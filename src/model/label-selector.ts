// metav1.LabelSelector semantics (apimachinery LabelSelectorAsSelector), shared by the control plane
// (workload and Service selection) and NetworkPolicy: every matchLabels pair and every expression must
// hold; an empty selector matches everything.
import type { LabelSelectorRequirement, Labels } from './k8s.js';

/** A selector as written or as validated: both fields optional. */
export interface LabelSelectorLike {
  readonly matchLabels?: Readonly<Labels>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export function labelSelectorMatches(sel: LabelSelectorLike, labels: Readonly<Labels> | undefined): boolean {
  const l = labels ?? {};
  const ml = sel.matchLabels;
  if (ml) for (const k in ml) if (l[k] !== ml[k]) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const v = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !e.values?.includes(v as string)) return false;
        break;
      case 'NotIn':
        // An absent key satisfies NotIn (apimachinery labels.Requirement.Matches).
        if (has && e.values?.includes(v as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
