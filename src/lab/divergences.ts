// The known, explained divergences between the twin and this machine's kernel, read from the one
// versioned list (docs/divergences.md). A verify difference a row's pattern matches is reported as
// explained, with the row's id; every other difference fails the run.
import { readFileSync } from 'node:fs';
import type { Difference } from './compare.js';
import type { Probe } from './probes.js';

export interface Divergence {
  id: string;
  feature: string;
  what: string;
  why: string;
  /** `category:kind:/regex/` over the probe category, difference kind and text; absent = not a verify rule. */
  match?: { category: string; kind: string; pattern: RegExp };
}

/** Parses the markdown table: | id | feature | what kpath does | why | verify match |. */
export function parseDivergences(markdown: string): Divergence[] {
  const out: Divergence[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    const [id, feature, what, why, match] = cells;
    if (!id || !feature || !what || !why || id === 'id' || /^-+$/.test(id)) continue;
    const m = match ? /^`?([\w*-]+):([\w*-]+):\/(.+)\/`?$/.exec(match) : null;
    out.push({
      id,
      feature,
      what,
      why,
      ...(m?.[1] && m[2] && m[3] ? { match: { category: m[1], kind: m[2], pattern: new RegExp(m[3]) } } : {}),
    });
  }
  return out;
}

export function loadDivergences(path: string): Divergence[] {
  return parseDivergences(readFileSync(path, 'utf8'));
}

export function explain(divs: readonly Divergence[], probe: Probe, d: Difference): Divergence | undefined {
  return divs.find(
    (x) =>
      x.match &&
      (x.match.category === '*' || x.match.category === probe.category) &&
      (x.match.kind === '*' || x.match.kind === d.kind) &&
      x.match.pattern.test(d.text),
  );
}
