// The reachability matrix over pods: verdicts computed once per (source class, destination class)
// and copied to every replica pair, so cost follows the number of label classes, not pods².
import type { Protocol } from '../model/k8s.js';
import { type ClassSet, classSets, has } from './class-sets.js';
import { decideSide, type Party, podParty } from './evaluate.js';
import type { IndexedPod, PodClass, PolicyIndex } from './policy-index.js';

export interface Probe {
  port: number;
  protocol: Protocol;
}

export interface MatrixQuery {
  /** Pods (`ns/name`) or whole namespaces (`ns`); all pods with an IP when omitted. */
  from?: readonly string[];
  to?: readonly string[];
  /** Probe every destination on these; otherwise on each destination's declared container ports. */
  ports?: readonly Probe[];
}

export interface ReachabilityMatrix {
  froms: string[];
  tos: string[];
  /** Every distinct probe, sorted by protocol then port. */
  probes: Probe[];
  /** For each destination, the indices into `probes` it was probed on. */
  toProbes: number[][];
  /** Bit k of cell (i, j) at byte (i·tos + j)·bytesPerCell + k>>3: probe k from froms[i] to tos[j] allowed. */
  bytesPerCell: number;
  allowed: Uint8Array;
}

export function cellAllowed(
  m: ReachabilityMatrix,
  from: number,
  to: number,
  probe: number,
): boolean | undefined {
  if (!m.toProbes[to]!.includes(probe)) return undefined;
  const byte = m.allowed[(from * m.tos.length + to) * m.bytesPerCell + (probe >> 3)]!;
  return (byte & (1 << (probe & 7))) !== 0;
}

export function probeIndex(m: ReachabilityMatrix, probe: Probe): number {
  return m.probes.findIndex((p) => p.port === probe.port && p.protocol === probe.protocol);
}

function selectPods(index: PolicyIndex, refs: readonly string[] | undefined): IndexedPod[] {
  if (!refs) return index.pods;
  const out: IndexedPod[] = [];
  const seen = new Set<IndexedPod>();
  for (const r of refs) {
    const matched = r.includes('/') ? [index.podsByKey.get(r)] : index.pods.filter((p) => p.namespace === r);
    if (matched.length === 0 || matched[0] === undefined)
      throw new Error(`no pod or namespace "${r}" with an IP`);
    for (const p of matched) {
      if (p && !seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

const probeKey = (p: Probe) => `${p.protocol}/${p.port}`;

export function reachabilityMatrix(index: PolicyIndex, query: MatrixQuery = {}): ReachabilityMatrix {
  const froms = selectPods(index, query.from);
  const tos = selectPods(index, query.to);

  // Probes per destination class (the declared ports are part of the class key).
  const classProbes = new Map<number, Probe[]>();
  const probesOf = (cls: PodClass): Probe[] => {
    let ps = classProbes.get(cls.id);
    if (!ps) {
      const seen = new Map<string, Probe>();
      for (const p of query.ports ??
        cls.ports.map((cp) => ({ port: cp.containerPort, protocol: cp.protocol }))) {
        seen.set(probeKey(p), { port: p.port, protocol: p.protocol });
      }
      ps = [...seen.values()];
      classProbes.set(cls.id, ps);
    }
    return ps;
  };
  const all = new Map<string, Probe>();
  for (const t of tos) for (const p of probesOf(index.classes[t.classId]!)) all.set(probeKey(p), p);
  const probes = [...all.values()].sort((a, b) =>
    a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port,
  );
  const probeIdx = new Map(probes.map((p, i) => [probeKey(p), i]));
  const classProbeIdx = new Map<number, number[]>();
  const toProbes = tos.map((t) => {
    let l = classProbeIdx.get(t.classId);
    if (!l) {
      l = probesOf(index.classes[t.classId]!).map((p) => probeIdx.get(probeKey(p))!);
      classProbeIdx.set(t.classId, l);
    }
    return l;
  });

  const bytesPerCell = Math.max(1, Math.ceil(probes.length / 8));
  const allowed = new Uint8Array(froms.length * tos.length * bytesPerCell);

  const group = (pods: IndexedPod[]) => {
    const g = new Map<number, number[]>();
    pods.forEach((p, i) => {
      const l = g.get(p.classId);
      if (l) l.push(i);
      else g.set(p.classId, [i]);
    });
    return g;
  };
  const fromGroups = group(froms);
  const toGroups = group(tos);
  const nodeMode = index.options.hostNetwork === 'node-traffic';

  // The cell's bits for one pod pair; valid for every pair of the same classes (and node relation).
  const compute = (src: IndexedPod, dst: IndexedPod, out: Uint8Array) => {
    out.fill(0);
    const s: Party = podParty(index, src);
    const d: Party = podParty(index, dst);
    for (const k of classProbeIdx.get(dst.classId)!) {
      const p = probes[k]!;
      const e = decideSide(index, 'Egress', s, d, d, p.port, p.protocol);
      if (e.state === 'denied') continue;
      const i = decideSide(index, 'Ingress', d, s, d, p.port, p.protocol);
      if (i.state === 'denied') continue;
      out[k >> 3]! |= 1 << (k & 7);
    }
  };
  const put = (fi: number, ti: number, b: Uint8Array) =>
    allowed.set(b, (fi * tos.length + ti) * bytesPerCell);

  const sets = classSets(index);
  // Per (class, probe) verdict sets, indexed by number rather than by key.
  const P = probes.length;
  const egress: (ClassSet | undefined)[] = [];
  const ingress: (ClassSet | undefined)[] = [];
  const setOf = (
    table: (ClassSet | undefined)[],
    cls: PodClass,
    dir: 'Egress' | 'Ingress',
    k: number,
  ): ClassSet => {
    const i = cls.id * P + k;
    let s = table[i];
    if (!s) {
      s = sets.allowedPeers(cls, dir, probes[k]!.port, probes[k]!.protocol);
      table[i] = s;
    }
    return s;
  };
  const tProbes = classProbeIdx;
  const bits = new Uint8Array(bytesPerCell);
  const sameNodeBits = new Uint8Array(bytesPerCell);
  const T = tos.length;
  const C = index.classes.length;

  // Pods as policies see them: read verdicts off the per-class sets, probe by probe. The ingress
  // sets (per destination class, over sources) are transposed so that one AND per source class
  // gives the whole row of allowed destination classes.
  const toGroupByClass: (number[] | undefined)[] = new Array(C);
  for (const [tc, tIdx] of toGroups) toGroupByClass[tc] = tIdx;
  const fromClassIds = [...fromGroups.keys()].filter((c) => has(sets.regular, c));
  const toClassIds = [...toGroups.keys()].filter((c) => has(sets.regular, c));
  for (let k = 0; k < probes.length; k++) {
    const toWithProbe = toClassIds.filter((tc) => tProbes.get(tc)!.includes(k));
    fillProbe({
      allowed,
      T,
      C,
      bytesPerCell,
      k,
      fromClassIds,
      toClassIds: toWithProbe,
      fromGroups,
      toGroupByClass,
      egressOf: (fc) => setOf(egress, index.classes[fc]!, 'Egress', k),
      ingressOf: (tc) => setOf(ingress, index.classes[tc]!, 'Ingress', k),
    });
  }

  // Pairs with a hostNetwork pod under node-traffic: the verdict can depend on sharing a node.
  const nodeDependent = nodeMode && index.options.nodeLocalAllowed;
  for (const [fc, fIdx] of fromGroups) {
    for (const [tc, tIdx] of toGroups) {
      if (has(sets.regular, fc) && has(sets.regular, tc)) continue;
      let have = false;
      let haveSame = false;
      for (const fi of fIdx) {
        const fp = froms[fi]!;
        for (const ti of tIdx) {
          const tp = tos[ti]!;
          if (fp === tp) continue; // self cells below
          const same = nodeDependent && fp.nodeName !== undefined && fp.nodeName === tp.nodeName;
          if (same) {
            if (!haveSame) compute(fp, tp, sameNodeBits);
            haveSame = true;
            put(fi, ti, sameNodeBits);
          } else {
            if (!have) compute(fp, tp, bits);
            have = true;
            put(fi, ti, bits);
          }
        }
      }
    }
  }
  // Self cells: the pod reaching its own IP (selfTraffic switch decides inside decideSide).
  const toPos = new Map(tos.map((t, i) => [t, i]));
  froms.forEach((fp, fi) => {
    const ti = toPos.get(fp);
    if (ti === undefined) return;
    compute(fp, fp, bits);
    put(fi, ti, bits);
  });

  return {
    froms: froms.map((p) => p.key),
    tos: tos.map((p) => p.key),
    probes,
    toProbes,
    bytesPerCell,
    allowed,
  };
}

interface FillProbe {
  allowed: Uint8Array;
  T: number;
  C: number;
  bytesPerCell: number;
  k: number;
  fromClassIds: number[];
  toClassIds: number[];
  fromGroups: Map<number, number[]>;
  toGroupByClass: (number[] | undefined)[];
  egressOf: (fc: number) => ClassSet;
  ingressOf: (tc: number) => ClassSet;
}

/** Sets probe k's bit on every allowed cell between pod classes (kept small so V8 optimises it). */
function fillProbe(f: FillProbe): void {
  const { allowed, T, C, bytesPerCell, k, fromClassIds, toClassIds, fromGroups, toGroupByClass } = f;
  const W = (C + 31) >>> 5;
  const fromMask = new Uint32Array(W);
  for (const fc of fromClassIds) fromMask[fc >>> 5]! |= 1 << (fc & 31);
  const withProbe = new Uint32Array(W);
  // Transpose the ingress sets (destination → sources) into rows (source → destinations).
  const transposed = new Uint32Array(C * W);
  for (const tc of toClassIds) {
    const tw = tc >>> 5;
    const tb = 1 << (tc & 31);
    withProbe[tw]! |= tb;
    const ing = f.ingressOf(tc);
    for (let w = 0; w < W; w++) {
      let word = ing[w]! & fromMask[w]!;
      while (word !== 0) {
        const low = word & -word;
        word ^= low;
        transposed[((w << 5) + 31 - Math.clz32(low)) * W + tw]! |= tb;
      }
    }
  }
  const byteOff = k >> 3;
  const bit = 1 << (k & 7);
  const rowBytes = T * bytesPerCell;
  for (const fc of fromClassIds) {
    const fIdx = fromGroups.get(fc)!;
    const eg = f.egressOf(fc);
    const row = fc * W;
    for (let w = 0; w < W; w++) {
      let word = eg[w]! & transposed[row + w]! & withProbe[w]!;
      while (word !== 0) {
        const low = word & -word;
        word ^= low;
        const tIdx = toGroupByClass[(w << 5) + 31 - Math.clz32(low)]!;
        for (let a = 0; a < fIdx.length; a++) {
          const base = fIdx[a]! * rowBytes + byteOff;
          for (let b = 0; b < tIdx.length; b++) allowed[base + tIdx[b]! * bytesPerCell]! |= bit;
        }
      }
    }
  }
}
