// "did you mean" for keys of our own schema: the closest allowed key within a small edit distance.

function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  // A key that wraps a known one (vxlanPort → port) is a likelier slip than a far edit.
  const inside = candidates.find(
    (c) => c.length >= 3 && (w.endsWith(c.toLowerCase()) || w.startsWith(c.toLowerCase())),
  );
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  // Case-only differences (podCidr) and up to a third of the word wrong count as close.
  if (best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  return inside;
}
