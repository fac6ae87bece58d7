// Label selectors (metav1.LabelSelector) as the API server and every CNI evaluate them.
import type { LabelSelectorRequirement, Labels } from '../model/k8s.js';
import { labelSelectorMatches } from '../model/label-selector.js';

/** A validated selector; `matchLabels` and `matchExpressions` are ANDed, an empty selector matches everything. */
export interface Selector {
  readonly matchLabels: Readonly<Labels>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export const EVERYTHING: Selector = { matchLabels: {}, matchExpressions: [] };

/** The API's matching (model/label-selector.ts) on a validated selector. */
export function matchesSelector(sel: Selector, labels: Readonly<Labels>): boolean {
  return labelSelectorMatches(sel, labels);
}

export function isEmptySelector(sel: Selector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

/** The selector in kubectl's `-l` syntax (`app=b,tier in (x,y),!legacy`); `all` when empty. */
export function describeSelector(sel: Selector): string {
  const parts: string[] = [];
  for (const k of Object.keys(sel.matchLabels).sort()) parts.push(`${k}=${sel.matchLabels[k]}`);
  for (const e of sel.matchExpressions) {
    const vals = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.length === 0 ? 'all' : parts.join(',');
}
