// The order iptables-save prints a table's user chains in: sorted by name, compared code unit by code
// unit (chain names are ASCII on a real node, where that is byte order). A large cluster has 100k+
// names sharing long prefixes (KUBE-SEP-…); Array.prototype.sort's default comparator calls into the
// runtime for every comparison and was a large part of a node's restore, so names are sorted by
// three-way radix quicksort, which reads each distinguishing character about once.

/** Sorts in place by UTF-16 code units (the order of `<` and of the default sort) and returns the array. */
export function sortChainNames(names: string[]): string[] {
  const items = names.map((name) => ({ name }));
  sortByName(items);
  for (let i = 0; i < items.length; i++) names[i] = (items[i] as { name: string }).name;
  return names;
}

/** Sorts chains (anything named) in place by name, in sortChainNames' order, and returns the array. */
export function sortByName<T extends { readonly name: string }>(items: T[]): T[] {
  radixQuicksort(items, 0, items.length - 1, 0);
  return items;
}

/** The code unit at d, or -1 past the end (a prefix sorts first). */
function unitAt(s: string, d: number): number {
  return d < s.length ? s.charCodeAt(d) : -1;
}

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i] as T;
  a[i] = a[j] as T;
  a[j] = t;
}

/** Sorts a[lo..hi], whose names agree on their first d code units. */
function radixQuicksort<T extends { readonly name: string }>(
  a: T[],
  lo: number,
  hi: number,
  d: number,
): void {
  // A large range is split by a counting pass on its code unit at d (one read per name, where the
  // partitions below need about log2(32) for kube-proxy's base32 hashes); names with a code unit
  // outside ASCII at d leave the range to the partitions.
  if (hi - lo >= COUNTING_MIN && countingPass(a, lo, hi, d)) return;
  while (hi - lo >= 12) {
    // Middle element as pivot: already sorted input (a common case) stays balanced.
    swap(a, lo, (lo + hi) >>> 1);
    const v = unitAt((a[lo] as T).name, d);
    let lt = lo;
    let gt = hi;
    let i = lo + 1;
    while (i <= gt) {
      const t = unitAt((a[i] as T).name, d);
      if (t < v) swap(a, lt++, i++);
      else if (t > v) swap(a, i, gt--);
      else i++;
    }
    // The equal part moves on to the next code unit (depth at most the name length); of the two
    // others the smaller is sorted by recursion and the larger by the loop, so the stack stays shallow.
    if (v >= 0) radixQuicksort(a, lt, gt, d + 1);
    if (lt - lo < hi - gt) {
      radixQuicksort(a, lo, lt - 1, d);
      lo = gt + 1;
    } else {
      radixQuicksort(a, gt + 1, hi, d);
      hi = lt - 1;
    }
  }
  insertionSort(a, lo, hi, d);
}

const COUNTING_MIN = 512;
/** Buckets: names ending before d, then code units 0..127. */
const BUCKETS = 129;

/** Sorts a[lo..hi] by the code unit at d and then each bucket from d + 1; false (nothing moved) if one is not ASCII. */
function countingPass<T extends { readonly name: string }>(
  a: T[],
  lo: number,
  hi: number,
  d: number,
): boolean {
  const counts = new Int32Array(BUCKETS + 1);
  for (let i = lo; i <= hi; i++) {
    const u = unitAt((a[i] as T).name, d);
    if (u >= 128) return false;
    counts[u + 2]!++;
  }
  // counts[b] becomes the start of bucket b (relative to lo).
  for (let b = 1; b <= BUCKETS; b++) counts[b]! += counts[b - 1]!;
  const sorted = new Array<T>(hi - lo + 1);
  for (let i = lo; i <= hi; i++) {
    const item = a[i] as T;
    sorted[counts[unitAt(item.name, d) + 1]!++] = item;
  }
  for (let i = 0; i < sorted.length; i++) a[lo + i] = sorted[i] as T;
  // counts[b] is now the end of bucket b; names that ended before d (bucket 0) are all equal.
  let start = counts[0]!;
  for (let b = 1; b < BUCKETS; b++) {
    const end = counts[b]!;
    if (end - start > 1) radixQuicksort(a, lo + start, lo + end - 1, d + 1);
    start = end;
  }
  return true;
}

function insertionSort<T extends { readonly name: string }>(a: T[], lo: number, hi: number, d: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const s = a[i] as T;
    let j = i - 1;
    while (j >= lo && lessFrom(s.name, (a[j] as T).name, d)) {
      a[j + 1] = a[j] as T;
      j--;
    }
    a[j + 1] = s;
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
