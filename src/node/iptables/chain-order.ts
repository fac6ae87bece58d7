// The order iptables-save prints a table's user chains in: sorted by name, compared code unit by code
// unit (chain names are ASCII on a real node, where that is byte order). A large cluster has 100k+
// names sharing long prefixes (KUBE-SEP-…); Array.prototype.sort's default comparator calls into the
// runtime for every comparison and was a large part of a node's restore, so names are sorted by
// three-way radix quicksort, which reads each distinguishing character about once. The names are
// sorted in an array of their own, with the items moved alongside: reading a name then costs one
// memory access, not two (item, then its name), and on 100k scattered chains that is the cost.

/** Sorts in place by UTF-16 code units (the order of `<` and of the default sort) and returns the array. */
export function sortChainNames(names: string[]): string[] {
  radixQuicksort(names, names, 0, names.length - 1, 0);
  return names;
}

/** Sorts chains (anything named) in place by name, in sortChainNames' order, and returns the array. */
export function sortByName<T extends { readonly name: string }>(items: T[]): T[] {
  const names = items.map((c) => c.name);
  radixQuicksort(names, items, 0, items.length - 1, 0);
  return items;
}

/** The code unit at d, or -1 past the end (a prefix sorts first). */
function unitAt(s: string, d: number): number {
  return d < s.length ? s.charCodeAt(d) : -1;
}

/** Swaps positions i and j of the names and of the items (the same array when sorting names alone). */
function swap<T>(names: string[], items: T[], i: number, j: number): void {
  const n = names[i] as string;
  names[i] = names[j] as string;
  names[j] = n;
  if (items === (names as unknown[])) return;
  const t = items[i] as T;
  items[i] = items[j] as T;
  items[j] = t;
}

/** Sorts names[lo..hi] (and items alongside), whose names agree on their first d code units. */
function radixQuicksort<T>(names: string[], items: T[], lo: number, hi: number, d: number): void {
  // A large range is split by a counting pass on its code unit at d (one read per name, where the
  // partitions below need about log2(32) for kube-proxy's base32 hashes); names with a code unit
  // outside ASCII at d leave the range to the partitions.
  if (hi - lo >= COUNTING_MIN && countingPass(names, items, lo, hi, d)) return;
  while (hi - lo >= 12) {
    // Middle element as pivot: already sorted input (a common case) stays balanced.
    swap(names, items, lo, (lo + hi) >>> 1);
    const v = unitAt(names[lo] as string, d);
    let lt = lo;
    let gt = hi;
    let i = lo + 1;
    while (i <= gt) {
      const t = unitAt(names[i] as string, d);
      if (t < v) swap(names, items, lt++, i++);
      else if (t > v) swap(names, items, i, gt--);
      else i++;
    }
    // The equal part moves on to the next code unit (depth at most the name length); of the two
    // others the smaller is sorted by recursion and the larger by the loop, so the stack stays shallow.
    if (v >= 0) radixQuicksort(names, items, lt, gt, d + 1);
    if (lt - lo < hi - gt) {
      radixQuicksort(names, items, lo, lt - 1, d);
      lo = gt + 1;
    } else {
      radixQuicksort(names, items, gt + 1, hi, d);
      hi = lt - 1;
    }
  }
  insertionSort(names, items, lo, hi, d);
}

// Below this the partitions win; above it (down to the ~100-name ranges two base32 units leave of
// 100k hashes) one counting pass reads each name twice where the partitions read it ~5 times.
const COUNTING_MIN = 48;
/** Buckets: names ending before d, then code units 0..127. */
const BUCKETS = 129;

/** Where the names of names[lo..hi] stop agreeing, from d on (each name read once when they all agree). */
function commonPrefixEnd(names: readonly string[], lo: number, hi: number, d: number): number {
  const first = names[lo] as string;
  let end = first.length;
  for (let i = lo + 1; i <= hi && end > d; i++) {
    const s = names[i] as string;
    const m = Math.min(end, s.length);
    let k = d;
    while (k < m && s.charCodeAt(k) === first.charCodeAt(k)) k++;
    end = k;
  }
  return Math.max(end, d);
}

/** Sorts names[lo..hi] by the code unit at d and then each bucket from d + 1; false (nothing moved) if one is not ASCII. */
function countingPass<T>(names: string[], items: T[], lo: number, hi: number, d: number): boolean {
  // The shared `KUBE-` / `KUBE-SEP-` of 100k names is skipped in one pass, not one pass per unit.
  d = commonPrefixEnd(names, lo, hi, d);
  const counts = new Int32Array(BUCKETS + 1);
  for (let i = lo; i <= hi; i++) {
    const u = unitAt(names[i] as string, d);
    if (u >= 128) return false;
    counts[u + 2]!++;
  }
  // counts[b] becomes the start of bucket b (relative to lo).
  for (let b = 1; b <= BUCKETS; b++) counts[b]! += counts[b - 1]!;
  const n = hi - lo + 1;
  const sortedNames = new Array<string>(n);
  const sortedItems = items === (names as unknown[]) ? undefined : new Array<T>(n);
  for (let i = lo; i <= hi; i++) {
    const name = names[i] as string;
    const at = counts[unitAt(name, d) + 1]!++;
    sortedNames[at] = name;
    if (sortedItems) sortedItems[at] = items[i] as T;
  }
  for (let i = 0; i < n; i++) names[lo + i] = sortedNames[i] as string;
  if (sortedItems) for (let i = 0; i < n; i++) items[lo + i] = sortedItems[i] as T;
  // counts[b] is now the end of bucket b; names that ended before d (bucket 0) are all equal.
  let start = counts[0]!;
  for (let b = 1; b < BUCKETS; b++) {
    const end = counts[b]!;
    if (end - start > 1) radixQuicksort(names, items, lo + start, lo + end - 1, d + 1);
    start = end;
  }
  return true;
}

function insertionSort<T>(names: string[], items: T[], lo: number, hi: number, d: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const s = names[i] as string;
    const item = items[i] as T;
    let j = i - 1;
    while (j >= lo && lessFrom(s, names[j] as string, d)) {
      names[j + 1] = names[j] as string;
      items[j + 1] = items[j] as T;
      j--;
    }
    names[j + 1] = s;
    items[j + 1] = item;
  }
}

/** s < t, both known equal on their first d code units. */
function lessFrom(s: string, t: string, d: number): boolean {
  const n = Math.min(s.length, t.length);
  for (let k = d; k < n; k++) {
    const x = s.charCodeAt(k);
    const y = t.charCodeAt(k);
    if (x !== y) return x < y;
  }
  return s.length < t.length;
}
