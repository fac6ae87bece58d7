// metav1.LabelSelector matching, as apimachinery's labels.Requirement.Matches defines it.
import { describe, expect, it } from 'vitest';
import { labelSelectorMatches } from '../../src/model/label-selector.js';

describe('labelSelectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };

  it('an empty selector (no fields, or empty ones) matches everything, unlabelled objects too', () => {
    expect(labelSelectorMatches({}, labels)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: {}, matchExpressions: [] }, undefined)).toBe(true);
  });

  it('matchLabels: every pair must hold', () => {
    expect(labelSelectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { app: 'web', tier: 'back' } }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchLabels: { app: 'web' } }, undefined)).toBe(false);
  });

  it('In, NotIn, Exists, DoesNotExist; an absent key satisfies NotIn and DoesNotExist only', () => {
    const m = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', key: string, values?: string[]) =>
      labelSelectorMatches({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] }, labels);
    expect(m('In', 'app', ['web', 'api'])).toBe(true);
    expect(m('In', 'app', ['api'])).toBe(false);
    expect(m('In', 'zone', ['a'])).toBe(false);
    expect(m('NotIn', 'app', ['api'])).toBe(true);
    expect(m('NotIn', 'app', ['web'])).toBe(false);
    expect(m('NotIn', 'zone', ['a'])).toBe(true);
    expect(m('Exists', 'tier')).toBe(true);
    expect(m('Exists', 'zone')).toBe(false);
    expect(m('DoesNotExist', 'zone')).toBe(true);
    expect(m('DoesNotExist', 'tier')).toBe(false);
  });

  it('matchLabels and every expression are ANDed', () => {
    const sel = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['back'] }],
    };
    expect(labelSelectorMatches(sel, labels)).toBe(false);
    expect(labelSelectorMatches(sel, { app: 'web', tier: 'back' })).toBe(true);
  });
});
